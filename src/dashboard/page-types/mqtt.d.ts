/**
 * The part of mqtt.js the dashboard page uses: the server serves mqtt.js's own browser bundle
 * as /vendor/mqtt.esm.js, and the page's type check (src/dashboard/tsconfig.page.json) maps that
 * import here, so the page is checked without mqtt.js's Node typings.
 */
export type QoS = 0 | 1 | 2;

/** A refusal carries the CONNACK code. */
export interface MqttError extends Error {
  readonly code?: number | string;
}

/** A message body (a Buffer in the bundle): the page reads it as text. */
export interface Payload {
  toString(): string;
}

export interface MqttClient {
  readonly connected: boolean;
  on(event: 'connect' | 'close' | 'reconnect', listener: () => void): this;
  on(event: 'message', listener: (topic: string, payload: Payload) => void): this;
  on(event: 'error', listener: (err: MqttError) => void): this;
  once(event: 'connect' | 'close' | 'reconnect', listener: () => void): this;
  once(event: 'error', listener: (err: MqttError) => void): this;
  off(event: string, listener: (...args: never[]) => void): this;
  subscribe(topic: string | string[], options: { qos: QoS }, callback?: (err: Error | null) => void): this;
  publish(topic: string, payload: string, options: { qos: QoS; retain?: boolean }, callback?: (err?: Error) => void): this;
  end(force?: boolean): this;
}

export interface Mqtt {
  connect(url: string, options: Record<string, unknown>): MqttClient;
}

declare const mqtt: Mqtt;
export default mqtt;
