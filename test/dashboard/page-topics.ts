/**
 * The page's topics as it builds them in the browser: from the contract the dashboard server
 * serves in /config.json (`topics`), for a base topic.
 */
// @ts-expect-error: a .js module without types
import { Topics } from '../../src/dashboard/public/topics.js';
import { dashboardConfig, dashboardOptionsSchema } from '../../src/dashboard/server.js';

export const servedConfig = dashboardConfig(dashboardOptionsSchema.parse({ port: 0, wsUrl: 'ws://127.0.0.1:9001' }));

export interface PageTopics {
  topic(name: string, params?: { id?: string; bridge?: string }): string;
  filter(name: string): string;
  parse(topic: string, names: readonly string[]): { name: string; id?: string; bridge?: string } | null;
}

export function pageTopics(base = 'aquastop'): PageTopics {
  return new Topics(servedConfig.topics, base) as PageTopics;
}
