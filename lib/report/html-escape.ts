/**
 * Escaping for text put into the report's HTML and SVG. Everything shown comes from files a user may not have
 * written (samples, configs), so nothing goes into the page unescaped.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` safe inside an HTML or SVG element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * `value` as JSON safe inside a `<script type="application/json">` element: `<` is escaped so no string can close
 * the element, and U+2028/U+2029 so the text is also valid JavaScript.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
