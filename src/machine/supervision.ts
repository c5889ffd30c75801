/**
 * Fill and drain supervision, shared by the armed breaker and the half-open probe: the
 * timeouts that raise i10, i11, iF0 and i20, and the inflow accounting behind iE0.
 */
import { and, not } from 'xstate';
import { holds, tagsFor } from './facts.js';
import { controllerSetup, detect } from './setup.js';
/** Fill supervision shared by armed.filling and probing.probeFill. */
export function fillSupervision(id: string, doneTarget: string, probe: boolean) {
  return controllerSetup.createStateConfig({
    id,
    tags: tagsFor(id),
    entry: 'startFill',
    after: {
      topUpTimeout: [
        {
          guard: and(['isTopUp', 'isTooManyFailedTopUps']),
          actions: ['countFailedTopUp', detect('iF0', 'top-up fill did not reach its level')],
        },
        {
          guard: 'isTopUp',
          target: doneTarget,
          actions: ['countFailedTopUp', 'emitFillDone', 'clearDemand'],
        },
      ],
      fillStatic: { guard: and([not('isTopUp'), not('hasRisen')]), actions: detect('i10', 'no level rise after the valve opened') },
      fillDynamic: { guard: not('isTopUp'), actions: detect('i11', 'fill level not reached in time') },
    },
    // A fill is done once the recorded level reaches its target on a settled signal (one plausible
    // sample inside a noisy spell proves nothing). A probe whose demand is withdrawn has proved
    // nothing: it waits for the next one.
    always: [
      { guard: and(['isFillSatisfied', holds('levelGood')]), target: doneTarget, actions: ['emitFillDone', 'clearDemand', 'resetFailedTopUps'] },
      { guard: not('hasFillDemand'), target: probe ? '#probeWaiting' : doneTarget },
    ],
    on: {
      'sensor.flow': [{ guard: 'isUnaccounted', actions: ['countInflow', detect('iE0', 'metered inflow far above the tub level rise')] }, { actions: 'countInflow' }],
    },
  });
}

export function drainSupervision(id: string, doneTarget: string, probe: boolean) {
  return controllerSetup.createStateConfig({
    id,
    tags: tagsFor(id),
    after: { drainTimeout: { actions: detect('i20', 'tub not empty after the drain time') } },
    always: [
      { guard: and(['isDrainSatisfied', holds('levelGood')]), target: doneTarget, actions: ['emitDrainDone', 'clearDemand'] },
      { guard: not('hasDrainDemand'), target: probe ? '#probeWaiting' : doneTarget },
    ],
  });
}
