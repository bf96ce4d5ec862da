// Injected by tests/helpers/browser.py (page.evaluate): WCAG AA contrast on glass.
() => {
  // WCAG 2 contrast of every visible text against its effective background: translucent
  // backgrounds are composited up the tree onto each light of the page backdrop (worst case),
  // gradient backgrounds count every colour stop, and gradient text counts every stop.
  const BACKDROPS = ["#fbf3f0", "#f8d9d1", "#efe0f3", "#fbe6dc", "#f1c3ba", "#f6dcd4", "#ffffff"];
  const parse = (c) => {
    if (c.startsWith("#")) { const n = parseInt(c.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255, 1]; }
    const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const stops = (img) => (img.match(/rgba?\([^)]+\)/g) || []).map(parse);
  const over = (top, under) => { const a = top[3]; return [0,1,2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const backgrounds = (el) => {
    const layers = [];
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      const g = s.backgroundImage !== "none" && s.backgroundClip !== "text" ? stops(s.backgroundImage) : [];
      if (g.length) { layers.push(g); if (g.every(c => c[3] === 1)) break; }
      const c = parse(s.backgroundColor); if (c && c[3] > 0) { layers.push([c]); if (c[3] === 1) break; }
    }
    let results = BACKDROPS.map(parse);
    for (const layer of layers.reverse()) results = results.flatMap(under => layer.map(top => over(top, under)));
    return results;
  };
  const failures = [];
  let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode; const el = node.parentElement;
    if (!el || seen.has(el) || !node.textContent.trim()) continue;
    seen.add(el);
    const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || s.visibility === "hidden" || el.closest(".sr-only,[aria-hidden=true],svg")) continue;
    if (el.closest("button:disabled,[aria-disabled=true]")) continue; // inactive controls are exempt
    let colours = [parse(s.color)];
    let clip = null;
    for (let e = el; e; e = e.parentElement) { const cs = getComputedStyle(e); if (cs.backgroundClip === "text" || cs.webkitBackgroundClip === "text") { clip = cs; break; } }
    if (clip && stops(clip.backgroundImage).length) colours = stops(clip.backgroundImage);
    const size = parseFloat(s.fontSize); const bold = parseInt(s.fontWeight) >= 700;
    const need = size >= 24 || (size >= 18.66 && bold) ? 3 : 4.5;
    checked++;
    for (const bg of backgrounds(el)) for (const fg of colours) {
      const v = ratio(over(fg, bg), bg);
      if (v < need) { failures.push(`${v.toFixed(2)} < ${need}: "${node.textContent.trim().slice(0, 40)}" (${el.tagName.toLowerCase()}.${el.className})`); break; }
    }
  }
  return { checked, failures: [...new Set(failures)].slice(0, 20) };
}
