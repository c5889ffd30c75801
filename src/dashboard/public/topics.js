// The MQTT topics as the page builds and reads them: from the contract's templates the server
// serves in /config.json (`topics`, from src/protocol/topics.ts), never spelled here. A template
// is levels separated by "/": literals, `{base}`, and `{id}` or `{bridge}` (one level each, of the
// served `idPattern`).

export class Topics {
  /**
   * `contract`: /config.json's `topics`, { templates: { name: template }, idPattern }.
   * `base`: the base topic in use.
   */
  constructor(contract, base) {
    this.base = base;
    this.templates = contract.templates;
    this.idPattern = new RegExp(contract.idPattern);
    /** Each template's levels after `{base}` (the page's topics all start with it). */
    this.levels = {};
    for (const [name, template] of Object.entries(this.templates)) {
      if (template.startsWith('{base}/')) this.levels[name] = template.slice('{base}/'.length).split('/');
    }
  }

  /** The concrete topic `name` for device `id` (or bridge `bridge`); throws on an id that is not one topic level. */
  topic(name, { id, bridge } = /** @type {{ id?: string, bridge?: string }} */ ({})) {
    const value = (key, v) => {
      if (typeof v !== 'string' || !this.idPattern.test(v)) throw new Error(`topic ${name} needs a valid ${key} (got "${v}")`);
      return v;
    };
    return this.template(name)
      .replace('{base}', this.base)
      .replace('{id}', () => value('id', id))
      .replace('{bridge}', () => value('bridge', bridge));
  }

  /** The subscription filter for `name` across all devices and bridges: `{id}` and `{bridge}` become `+`. */
  filter(name) {
    return this.template(name).replace('{base}', this.base).replace('{id}', '+').replace('{bridge}', '+');
  }

  /**
   * Which of `names` a topic string is, with its device id or bridge id; null when none. A level
   * that is a literal of one template (`bridge`) is never an `{id}` of another, as the contract
   * reserves it.
   */
  parse(topic, names) {
    if (!topic.startsWith(this.base + '/')) return null;
    const rest = topic.slice(this.base.length + 1).split('/');
    for (const name of names) {
      const levels = this.levels[name];
      if (!levels || levels.length !== rest.length) continue;
      const found = { name };
      const fits = levels.every((level, i) => {
        const value = rest[i];
        if (level === '{id}' || level === '{bridge}') {
          if (!this.idPattern.test(value)) return false;
          if (level === '{id}' && this.isLiteralAt(i, value)) return false;
          found[level.slice(1, -1)] = value;
          return true;
        }
        return level === value;
      });
      if (fits) return found;
    }
    return null;
  }

  isLiteralAt(i, value) {
    return Object.values(this.levels).some((levels) => levels[i] === value);
  }

  template(name) {
    const template = this.templates[name];
    if (template === undefined) throw new Error(`no topic "${name}" in the served contract`);
    return template;
  }
}
