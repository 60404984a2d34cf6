/** Building SVG elements: attributes only (the page's policy allows no inline styles). */

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number>> = {},
  ...children: (Node | string)[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** A tooltip: what a pointer over the shape shows, and what a screen reader may read. */
export function titled<T extends SVGElement>(element: T, title: string): T {
  element.append(svg('title', {}, title));
  return element;
}

/** An arrowhead per kind of arrow, coloured by the stylesheet through its class. */
export function arrowMarkers(kinds: readonly string[]): SVGDefsElement {
  return svg(
    'defs',
    {},
    ...kinds.map((kind) =>
      svg(
        'marker',
        {
          id: `arrowhead-${kind}`,
          class: `arrowhead arrowhead-${kind}`,
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto-start-reverse',
        },
        svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }),
      ),
    ),
  );
}
