// Renders bytes and their ranges. Every piece of request data goes into the
// page through textContent or an attribute set with setAttribute: never as
// markup (request bytes are hostile input).

/** What a byte looks like on the page, and whether it is a stand-in. */
export function visible(b) {
  // Plain ASCII stand-ins (\r \n \t), styled apart from the bytes they stand for: they
  // need no special font, and they are how learners write these bytes anyway.
  if (b === 0x0d) return { text: '\\r', special: 'CR' };
  if (b === 0x0a) return { text: '\\n', special: 'LF' };
  if (b === 0x09) return { text: '\\t', special: 'HTAB' };
  if (b < 0x20 || b === 0x7f) return { text: `\\x${b.toString(16).padStart(2, '0')}`, special: 'control' };
  if (b >= 0x80) return { text: `\\x${b.toString(16).padStart(2, '0')}`, special: 'non-ASCII' };
  return { text: String.fromCharCode(b), special: null };
}

/** The bytes as one visible string (for step lists and labels). */
export function visibleText(bytes) {
  let s = '';
  for (const b of bytes) s += visible(b).text;
  return s;
}

/** base64 → Uint8Array. */
export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
export { el };

/** The hover/focus description of a range. */
export function describe(range, rules, error) {
  // The offending byte names the rule it broke, not only "rejected".
  const rule = range.kind === 'error' && error ? { rule: error.reason, section: error.rule } : (rules[range.kind] ?? { rule: range.kind, section: '' });
  const where = range.end - range.start === 1 ? `byte ${range.start}` : `bytes ${range.start}–${range.end - 1}`;
  return `${range.label} · ${where} (${range.end - range.start} B) · ${rule.rule} · ${rule.section}`;
}

/**
 * Appends the bytes to `container`, one focusable span per range, each byte
 * made visible (CR \r, LF \n then a line break, HTAB \t, others \xHH).
 * `panel` shows the description of the range hovered or focused.
 */
export function renderBytes(container, bytes, outcome, rules, panel) {
  container.replaceChildren();
  const ranges = outcome && outcome.ranges.length > 0 ? outcome.ranges : [{ start: 0, end: bytes.length, kind: 'unparsed', label: 'bytes', message: 0 }];
  for (const r of ranges) {
    const span = el('span', `r k-${r.kind}`);
    span.tabIndex = 0;
    span.dataset.kind = r.kind;
    span.dataset.start = String(r.start);
    span.dataset.end = String(r.end);
    span.dataset.message = String(r.message);
    const text = describe(r, rules, outcome ? outcome.error : null);
    span.title = text;
    span.setAttribute('aria-label', text);
    let run = '';
    const flush = () => {
      if (run) span.append(document.createTextNode(run));
      run = '';
    };
    for (let i = r.start; i < r.end; i++) {
      const v = visible(bytes[i]);
      if (v.special === null) {
        run += v.text;
        continue;
      }
      flush();
      const s = el('span', `ctl ctl-${v.special === 'non-ASCII' ? 'nonascii' : v.special.toLowerCase()}`, v.text);
      s.dataset.byte = v.special;
      // A stand-in says what it stands for: a real backslash in the request is not styled like this.
      s.title = `${text} · this byte: ${v.special} 0x${bytes[i].toString(16).padStart(2, '0')}`;
      span.append(s);
      if (bytes[i] === 0x0a) span.append(document.createTextNode('\n'));
    }
    flush();
    const show = () => {
      if (panel) panel.textContent = text;
    };
    span.addEventListener('mouseenter', show);
    span.addEventListener('focus', show);
    container.append(span);
  }
}

/** The legend: each kind's swatch (colour and underline style) and rule. */
export function renderLegend(container, rules) {
  container.replaceChildren();
  for (const [kind, rule] of Object.entries(rules)) {
    const item = el('li');
    const sw = el('span', `r k-${kind} swatch`, kind);
    item.append(sw, el('span', 'legend-rule', ` ${rule.rule} (${rule.section})`));
    container.append(item);
  }
}
