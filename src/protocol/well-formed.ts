/** Half of a UTF-16 surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string has a UTF-8 form. JSON can carry a lone surrogate (`"\ud800"`), but UTF-8
 * cannot: a store would keep U+FFFD instead, and the same id would then hold two different
 * messages (the one answered and replicated from memory, the one read back). Such messages are
 * refused at the boundary instead.
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}
