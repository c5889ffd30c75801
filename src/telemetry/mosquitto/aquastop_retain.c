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
 * It also guards Home Assistant discovery configs (access.ts `discoveryRefusal`), on the topics
 * of plugin_opt_discovery:
 * - any publisher: at most plugin_opt_discovery_max_bytes bytes;
 * - a device account (a client whose user name is the device id level of the topic, the only
 *   discovery topics the aclfile lets a device account write): an empty payload, or a JSON
 *   object whose topic fields, i.e. the string values of the keys "topic", "t", "*_topic" and
 *   "*_t" at any depth, are each one of plugin_opt_discovery_topics with %u replaced by the user
 *   name; no "~" key and no \u escape. Limits: this is a scan of the JSON strings, not a
 *   parser: it decodes the escapes \" \\ \/ \b \f \n \r \t, refuses \u, and does not check
 *   the rest of the JSON's shape (Home Assistant ignores a config that is not valid JSON). A
 *   fleet account whose user name is also the device id of the topic is checked as that device.
 *
 *   plugin_opt_discovery homeassistant/valve/+/inlet/config ...
 *   plugin_opt_discovery_max_bytes 4096
 *   plugin_opt_discovery_topics aquastop/%u aquastop/%u/set aquastop/bridge/%u/state ...
 *
 * Build (Debian: mosquitto-dev and libmosquitto-dev):
 *   gcc -shared -fPIC -O2 -Wall -o aquastop_retain.so aquastop_retain.c
 * A refused publish is dropped (MQTT 3.1.1 has no negative acknowledgement; under MQTT 5 the
 * PUBACK carries 0x87 "not authorized"), as for any other ACL refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define MAX_FILTERS 64
#define MAX_TOPIC_BYTES 512

/* A list of words from one plugin_opt_ line. */
struct word_list {
	int count;
	char *words[MAX_FILTERS];
	char *text;
};

/* One per listener (with per_listener_settings true mosquitto loads the plugin once for each). */
struct retain_rules {
	mosquitto_plugin_id_t *id;
	struct word_list retain;
	struct word_list discovery;
	struct word_list topics;
	long discovery_max_bytes;
};

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5) return 5;
	}
	return -1;
}

static bool matches_any(const struct word_list *list, const char *topic)
{
	for (int i = 0; i < list->count; i++) {
		bool match = false;
		if (mosquitto_topic_matches_sub(list->words[i], topic, &match) == MOSQ_ERR_SUCCESS && match) return true;
	}
	return false;
}

/* The device id level of <prefix>/<component>/<id>/<object>/config, copied into out; false when there is none. */
static bool device_level(const char *topic, char *out, size_t size)
{
	/* The last three slashes: <...>/<id>/<object>/config. */
	const char *slash[3] = {NULL, NULL, NULL};
	for (const char *p = topic; *p; p++) {
		if (*p != '/') continue;
		slash[0] = slash[1];
		slash[1] = slash[2];
		slash[2] = p;
	}
	if (!slash[0]) return false;
	size_t n = (size_t)(slash[1] - slash[0] - 1);
	if (n == 0 || n >= size) return false;
	memcpy(out, slash[0] + 1, n);
	out[n] = '\0';
	return true;
}

/* Reads the JSON string starting at s[*i] == '"' into out (decoded); 0 ok, 1 longer than out (cut), -1 malformed, -2 a \u escape. */
static int read_string(const char *s, long len, long *i, char *out, size_t size)
{
	size_t n = 0;
	bool cut = false;
	for (long j = *i + 1; j < len; j++) {
		char c = s[j];
		if (c == '"') {
			out[n] = '\0';
			*i = j + 1;
			return cut ? 1 : 0;
		}
		if (c == '\\') {
			if (++j >= len) return -1;
			switch (s[j]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': return -2;
			default: return -1;
			}
		}
		if (n + 1 < size) out[n++] = c;
		else cut = true;
	}
	return -1;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a > b && strcmp(s + a - b, tail) == 0;
}

static bool is_topic_key(const char *key)
{
	return strcmp(key, "topic") == 0 || strcmp(key, "t") == 0 || ends_with(key, "_topic") || ends_with(key, "_t");
}

static bool own_topic(const struct word_list *templates, const char *user, const char *value)
{
	char want[MAX_TOPIC_BYTES];
	for (int i = 0; i < templates->count; i++) {
		const char *t = templates->words[i];
		const char *u = strstr(t, "%u");
		if (u) snprintf(want, sizeof want, "%.*s%s%s", (int)(u - t), t, user, u + 2);
		else snprintf(want, sizeof want, "%s", t);
		if (strcmp(want, value) == 0) return true;
	}
	return false;
}

/* Why a device account's discovery config is refused, or NULL. */
static const char *check_config(const struct retain_rules *rules, const char *user, const char *s, long len)
{
	char key[MAX_TOPIC_BYTES], value[MAX_TOPIC_BYTES];
	long i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
	if (i >= len || s[i] != '{') return "not a JSON object";
	while (i < len) {
		if (s[i] != '"') {
			i++;
			continue;
		}
		int r = read_string(s, len, &i, key, sizeof key);
		if (r == -2) return "a \\u escape";
		if (r < 0) return "not JSON";
		long j = i;
		while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
		if (j >= len || s[j] != ':') continue; /* a string value, not a key */
		if (strcmp(key, "~") == 0) return "a \"~\" (base topic) key";
		if (r == 1 || !is_topic_key(key)) continue; /* a key too long for a topic key */
		j++;
		while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r')) j++;
		if (j >= len || s[j] != '"') return "a topic field that is not a string";
		r = read_string(s, len, &j, value, sizeof value);
		if (r == -2) return "a \\u escape";
		if (r < 0) return "not JSON";
		if (r == 1 || !own_topic(&rules->topics, user, value)) return "a topic field naming another device's topic";
		i = j;
	}
	return NULL;
}

static int acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct retain_rules *rules = userdata;
	(void)event;
	if (ed->access != MOSQ_ACL_WRITE) return MOSQ_ERR_PLUGIN_DEFER;
	const char *user = mosquitto_client_username(ed->client);
	if (matches_any(&rules->discovery, ed->topic)) {
		if ((long)ed->payloadlen > rules->discovery_max_bytes) {
			mosquitto_log_printf(MOSQ_LOG_NOTICE, "aquastop_retain: refused a discovery config of %ld bytes by %s on %s (at most %ld)", (long)ed->payloadlen, user ? user : "(anonymous)", ed->topic, rules->discovery_max_bytes);
			return MOSQ_ERR_ACL_DENIED;
		}
		char id[MAX_TOPIC_BYTES];
		if (user && ed->payloadlen > 0 && device_level(ed->topic, id, sizeof id) && strcmp(id, user) == 0) {
			const char *why = check_config(rules, user, ed->payload, (long)ed->payloadlen);
			if (why) {
				mosquitto_log_printf(MOSQ_LOG_NOTICE, "aquastop_retain: refused a discovery config by %s on %s: %s", user, ed->topic, why);
				return MOSQ_ERR_ACL_DENIED;
			}
		}
	}
	if (!ed->retain || matches_any(&rules->retain, ed->topic)) return MOSQ_ERR_PLUGIN_DEFER;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "aquastop_retain: refused a retained publish by %s on %s (not a retained topic)", user ? user : "(anonymous)", ed->topic);
	return MOSQ_ERR_ACL_DENIED;
}

static void free_rules(struct retain_rules *rules)
{
	if (!rules) return;
	free(rules->retain.text);
	free(rules->discovery.text);
	free(rules->topics.text);
	free(rules);
}

/* Splits an option's value into list (replacing what it held); a mosquitto error code. */
static int read_words(struct word_list *list, const char *key, const char *value)
{
	free(list->text);
	list->count = 0;
	list->text = strdup(value);
	if (!list->text) return MOSQ_ERR_NOMEM;
	for (char *save = NULL, *f = strtok_r(list->text, " \t", &save); f; f = strtok_r(NULL, " \t", &save)) {
		if (list->count == MAX_FILTERS) {
			mosquitto_log_printf(MOSQ_LOG_ERR, "aquastop_retain: more than %d words in plugin_opt_%s", MAX_FILTERS, key);
			return MOSQ_ERR_INVAL;
		}
		list->words[list->count++] = f;
	}
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options, int option_count)
{
	struct retain_rules *rules = calloc(1, sizeof(*rules));
	if (!rules) return MOSQ_ERR_NOMEM;
	rules->id = identifier;
	rules->discovery_max_bytes = -1;
	for (int i = 0; i < option_count; i++) {
		int rc = MOSQ_ERR_SUCCESS;
		if (strcmp(options[i].key, "retain") == 0) rc = read_words(&rules->retain, "retain", options[i].value);
		else if (strcmp(options[i].key, "discovery") == 0) rc = read_words(&rules->discovery, "discovery", options[i].value);
		else if (strcmp(options[i].key, "discovery_topics") == 0) rc = read_words(&rules->topics, "discovery_topics", options[i].value);
		else if (strcmp(options[i].key, "discovery_max_bytes") == 0) {
			char *end = NULL;
			long n = strtol(options[i].value, &end, 10);
			if (!end || *end != '\0' || n < 0) {
				mosquitto_log_printf(MOSQ_LOG_ERR, "aquastop_retain: plugin_opt_discovery_max_bytes must be a number of bytes");
				rc = MOSQ_ERR_INVAL;
			}
			rules->discovery_max_bytes = n;
		}
		if (rc != MOSQ_ERR_SUCCESS) {
			free_rules(rules);
			return rc;
		}
	}
	const char *missing = rules->retain.count == 0 ? "plugin_opt_retain lists no topic filter"
		: rules->discovery.count == 0 ? "plugin_opt_discovery lists no topic filter"
		: rules->topics.count == 0 ? "plugin_opt_discovery_topics lists no topic"
		: rules->discovery_max_bytes < 0 ? "plugin_opt_discovery_max_bytes is missing" : NULL;
	if (missing) {
		mosquitto_log_printf(MOSQ_LOG_ERR, "aquastop_retain: %s", missing);
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
