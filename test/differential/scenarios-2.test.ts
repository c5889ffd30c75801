/** The differential test, shard 2 of 2 (see suite.ts): two files so both CI workers share the emulated runs. */
import { differentialSuite } from './suite.js';

differentialSuite(1);
