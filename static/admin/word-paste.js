// Lists pasted from Word become lists. Word copies a list as paragraphs styled "mso-list", each
// starting with its marker ("·", "1.") inside <![if !supportLists]> … <![endif]>; the body
// editor would keep them as paragraphs beginning with the marker and four &nbsp;. This rewrites
// the clipboard's HTML before the editor reads it. A list's nesting levels are pasted as one level.
(function () {
  "use strict";
  const ORDERED_MARKER = /^[(（]?([0-9]+|[a-z]|[ivxlc]+|[一二三四五六七八九十]+)[.)）、．]/i;

  function wordListsAsLists(html) {
    const marked = html.replace(/<!\[if !supportLists\]>([\s\S]*?)<!\[endif\]>/gi,
      (_, marker) => `<span data-word-marker>${marker}</span>`);
    const doc = new DOMParser().parseFromString(marked, "text/html");
    for (const ignored of doc.querySelectorAll("span[style*='mso-list:Ignore' i]")) {
      ignored.setAttribute("data-word-marker", "");
    }
    // Word names each list ("mso-list:l0 level1 lfo1"): two lists one after the other stay two.
    const listOf = (node) => node && node.tagName === "P"
      && ((node.getAttribute("style") || "").match(/mso-list:\s*(l\d+)/i) || [])[1];
    for (const first of doc.querySelectorAll("p")) {
      const name = listOf(first);
      // Items already moved into a list are detached: skipped.
      if (!name || !first.parentNode || listOf(first.previousElementSibling) === name) continue;
      const marker = first.querySelector("[data-word-marker]");
      const text = marker ? marker.textContent.replace(/\s|\u00a0/g, "") : "";
      const list = doc.createElement(ORDERED_MARKER.test(text) ? "ol" : "ul");
      first.before(list);
      for (let item = first; listOf(item) === name; item = list.nextElementSibling) {
        for (const old of item.querySelectorAll("[data-word-marker]")) old.remove();
        const li = doc.createElement("li");
        li.append(...item.childNodes);
        list.append(li);
        item.remove();
      }
    }
    return doc.body.innerHTML;
  }

  let rewriting = false;
  document.addEventListener("paste", (event) => {
    const html = event.clipboardData && event.clipboardData.getData("text/html");
    if (rewriting || !html || !/mso-list:/i.test(html) || !event.target.closest(".ProseMirror")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    const data = new DataTransfer();
    data.setData("text/html", wordListsAsLists(html));
    data.setData("text/plain", event.clipboardData.getData("text/plain"));
    rewriting = true;
    try {
      event.target.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    } finally {
      rewriting = false;
    }
  }, true);
})();
