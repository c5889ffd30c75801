/*
 * aquastop_retain: a mosquitto 2.x plugin that refuses a retained publish on any topic outside a
 * list of filters, so that only the topics the MQTT contract retains keep a retained message
 * (the embedded broker applies the same rule; src/telemetry/access.ts `mayRetain`).
 *
 * mosquitto's ACL file cannot tell a retained publish from a live one; this plugin only looks at
 * the retain flag and leaves every other decision to the ACL file (it defers).
 *
 *   plugin /etc/mosquitto/aquastop/aquastop_retain.so
 *   plugin_opt_retain aquastop/bridge/+/state aquastop/+ aquastop/+/availability ...
 *
 * Build (Debian: mosquitto-dev and libmosquitto-dev):
 *   gcc -shared -fPIC -O2 -Wall -o aquastop_retain.so aquastop_retain.c
 * A refused publish is dropped (MQTT 3.1.1 has no negative acknowledgement; under MQTT 5 the
 * PUBACK carries 0x87 "not authorized"), as for any other ACL refusal.
 */
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_FILTERS 64

/* One per listener (with per_listener_settings true mosquitto loads the plugin once for each). */
struct retain_rules {
	mosquitto_plugin_id_t *id;
	int count;
	char *filters[MAX_FILTERS];
	char *text;
};

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) return 5;
	}
	return -1;
}

static int acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct retain_rules *rules = userdata;
	(void)event;
	if (ed->access != MOSQ_ACL_WRITE || !ed->retain) return MOSQ_ERR_PLUGIN_DEFER;
	for (int i = 0; i < rules->count; i++) {
		bool match = false;
		if (mosquitto_topic_matches_sub(rules->filters[i], ed->topic, &match) == MOSQ_ERR_SUCCESS && match) {
			return MOSQ_ERR_PLUGIN_DEFER;
		}
	}
	const char *user = mosquitto_client_username(ed->client);
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "aquastop_retain: refused a retained publish by %s on %s (not a retained topic)", user ? user : "(anonymous)", ed->topic);
	return MOSQ_ERR_ACL_DENIED;
}

static void free_rules(struct retain_rules *rules)
{
	if (!rules) return;
	free(rules->text);
	free(rules);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options, int option_count)
{
	struct retain_rules *rules = calloc(1, sizeof(*rules));
	if (!rules) return MOSQ_ERR_NOMEM;
	rules->id = identifier;
	for (int i = 0; i < option_count; i++) {
		if (strcmp(options[i].key, "retain") != 0) continue;
		free(rules->text);
		rules->count = 0;
		rules->text = strdup(options[i].value);
		if (!rules->text) {
			free_rules(rules);
			return MOSQ_ERR_NOMEM;
		}
		for (char *save = NULL, *f = strtok_r(rules->text, " \t", &save); f; f = strtok_r(NULL, " \t", &save)) {
			if (rules->count == MAX_FILTERS) {
				mosquitto_log_printf(MOSQ_LOG_ERR, "aquastop_retain: more than %d filters in plugin_opt_retain", MAX_FILTERS);
				free_rules(rules);
				return MOSQ_ERR_INVAL;
			}
			rules->filters[rules->count++] = f;
		}
	}
	if (rules->count == 0) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "aquastop_retain: plugin_opt_retain lists no topic filter");
		free_rules(rules);
		return MOSQ_ERR_INVAL;
	}
	*userdata = rules;
	return mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, acl_check, NULL, rules);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	struct retain_rules *rules = userdata;
	(void)options;
	(void)option_count;
	if (rules) mosquitto_callback_unregister(rules->id, MOSQ_EVT_ACL_CHECK, acl_check, NULL);
	free_rules(rules);
	return MOSQ_ERR_SUCCESS;
}
