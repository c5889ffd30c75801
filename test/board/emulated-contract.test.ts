import { describe } from 'vitest';
import { emulatedSubject } from '../hardware/rig.js';
import { hasTools } from '../helpers/tools.js';
import { boardContract } from './contract.js';

describe.skipIf(!hasTools('avr-gcc', 'avr-g++', 'avr-objcopy'))('emulated Arduino running our firmware', () => {
  boardContract('emulated (avr8js + johnny-five)', () => emulatedSubject());
});
