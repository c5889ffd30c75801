/**
 * A URL as it may be shown in a log line or an HTTP answer: a password in it (mqtt://user:pass@host)
 * is replaced by `***`. Works on a comma-separated broker list and on text that is not a URL.
 */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@,]*:)[^\s/@,]*@/gi, '$1***@');
}
