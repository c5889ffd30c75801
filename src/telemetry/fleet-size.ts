/**
 * How many appliances one process publishes for: on its one bridge connection (index.ts), where
 * every appliance's QoS 1 messages share one connection's message ids and one socket, and each
 * on its own connection (fleet.ts), where each is a socket and an mqtt.js client (~10 KB).
 * Kept apart from both so the command line checks them without loading MQTT.
 */
export const MAX_BRIDGE_DEVICES = 1000;
export const MAX_FLEET_CONNECTIONS = 10_000;
/**
 * Per-device connections on the embedded broker, which shares the process (and its event loop)
 * with them: measured on 2 cores, 300 came up and stayed UP, 1,000 did not (connack timeouts,
 * the monitor's connection dropped as a slow reader). Past this, run mosquitto (--broker).
 */
export const MAX_EMBEDDED_CONNECTIONS = 500;
