// Render the math that pymdownx.arithmatex (generic mode) leaves as \( … \) and \[ … \],
// with the vendored KaTeX: nothing is fetched from the network.
function renderMath() {
  for (const el of document.querySelectorAll(".arithmatex")) {
    if (el.dataset.rendered) continue;
    const text = el.textContent.trim();
    const display = text.startsWith("\\[");
    const body = text.slice(2, -2);
    try {
      katex.render(body, el, { displayMode: display, throwOnError: false });
      el.dataset.rendered = "1";
    } catch (err) {
      console.error(err);
    }
  }
}
if (typeof document$ !== "undefined") {
  document$.subscribe(renderMath);
} else {
  document.addEventListener("DOMContentLoaded", renderMath);
}
