// The article form's desk (issue 25): ask before leaving typed work, keep it as a local draft
// (offered back when the article is opened again), count the body's words, and tell the server
// who is editing. A draft chosen for restoring is written into the form on the reload by
// desk-restore.js, before the body editor reads its textarea.
(function () {
  "use strict";
  const form = document.getElementById("article_form");
  if (!form) return;
  const key = "finews:draft:" + location.pathname;
  const restoreKey = "finews:restore:" + location.pathname;
  const skipped = new Set(["csrfmiddlewaretoken", "seen_updated_at", "return_note"]);
  let typed = false;
  let submitting = false;
  // The version of the article the form was opened on ("" on a new article's form).
  const seen = form.querySelector('input[name="seen_updated_at"]');
  const seenVersion = () => (seen ? seen.value : "");

  function fields() {
    const values = {};
    for (const element of form.elements) {
      if (!element.name || skipped.has(element.name) || element.type === "file" || element.type === "hidden"
          || element.type === "submit" || element.type === "button") continue;
      if (element.type === "checkbox" || element.type === "radio") {
        if (element.checked) values[element.name] = element.value;
      } else if (element.multiple) {
        values[element.name] = Array.from(element.selectedOptions, (option) => option.value);
      } else {
        values[element.name] = element.value;
      }
    }
    return values;
  }

  function saveDraft() {
    if (!typed || submitting) return;
    localStorage.setItem(key, JSON.stringify({ savedAt: Date.now(), fields: fields() }));
  }

  // The editor's own events (the body editor copying itself into its textarea) are not the user's.
  const markTyped = (event) => { if (event.isTrusted) typed = true; };
  for (const type of ["input", "change"]) form.addEventListener(type, markTyped, true);
  // The body editor changes the body without an input event when text is pasted, dropped or cut,
  // and from its toolbar and shortcuts (bold, a table, undo). Paste is heard on the window, before
  // the body editor reads the paste.
  for (const type of ["paste", "drop", "cut"]) {
    window.addEventListener(type, (event) => { if (form.contains(event.target)) markTyped(event); }, true);
  }
  form.addEventListener("click", (event) => {
    if (event.target.closest(".prose-menubar, .prose-editor dialog")) markTyped(event);
  }, true);
  form.addEventListener("keydown", (event) => {
    const shortcut = (event.ctrlKey || event.metaKey) && !["a", "c"].includes(event.key.toLowerCase());
    if (shortcut && event.target.closest(".ProseMirror")) markTyped(event);
  }, true);
  setInterval(saveDraft, 2000);
  window.addEventListener("pagehide", saveDraft);
  window.addEventListener("beforeunload", (event) => {
    if (!typed || submitting) return;
    saveDraft();
    event.preventDefault();
    event.returnValue = "";
  });
  form.addEventListener("submit", () => {
    // Kept until the page after the save: a save that fails shows the typed form again anyway.
    submitting = true;
    const stored = JSON.parse(localStorage.getItem(key) || "null") || { savedAt: Date.now() };
    const sent = { ...stored, fields: fields(), submitted: true, typed, seen: seenVersion() };
    localStorage.setItem(key, JSON.stringify(sent));
  });
  // A form sent that the server never saved. The session had ended (注销 in another tab, or
  // expired): the login page came instead, then this form as stored (or empty, a new article's),
  // and the typed work was dropped as if saved. Known by the login page sending the editor here,
  // or, for an article, by its version: still the one the form was opened on (a save moves it).
  const afterLogin = new URL(document.referrer || location.href).pathname.endsWith("/admin/login/");
  const neverSaved = (sent) => sent.typed && (afterLogin || (Boolean(sent.seen) && sent.seen === seenVersion()))
    && JSON.stringify(sent.fields) !== JSON.stringify(fields());

  // A draft left by a closed tab or a crash is offered back; one whose form was sent is done with.
  const draft = JSON.parse(localStorage.getItem(key) || "null");
  const banner = document.getElementById("desk-draft");
  if (sessionStorage.getItem(restoreKey)) {
    // Restored into the form (change_form.html) and not saved yet: still the editor's typed work.
    sessionStorage.removeItem(restoreKey);
    typed = true;
  } else if (banner && banner.hasAttribute("data-refused")) {
    // The save was refused (a conflict, a field's error): the form shows the typed work, not saved.
    // Unguarded, leaving it (历史, to compare, as the conflict's message suggests) lost it all.
    typed = true;
    saveDraft();
  } else if (draft && draft.submitted && !neverSaved(draft)) {
    localStorage.removeItem(key);
  } else if (draft && banner) {
    banner.querySelector(".desk-draft-time").textContent = "保存于 " + new Date(draft.savedAt).toLocaleString("zh-CN");
    banner.hidden = false;
    banner.querySelector(".desk-draft-restore").addEventListener("click", () => {
      sessionStorage.setItem(restoreKey, JSON.stringify(draft.fields));
      location.reload();
    });
    banner.querySelector(".desk-draft-discard").addEventListener("click", () => {
      localStorage.removeItem(key);
      banner.hidden = true;
    });
  }

  // 字数: Chinese characters one by one, other words by spaces, as editors count a news story.
  const body = form.querySelector('textarea[name="body"]');
  if (body) {
    const counter = document.createElement("div");
    counter.className = "help desk-word-count";  // aligned as the field's help text is
    const row = body.closest(".form-row") || body.parentElement;
    const help = row.querySelector(".help");
    if (help) help.after(counter);
    else row.appendChild(counter);
    const count = () => {
      const text = new DOMParser().parseFromString(body.value, "text/html").body.textContent || "";
      const han = (text.match(/\p{Script=Han}/gu) || []).length;
      const words = (text.replace(/\p{Script=Han}/gu, " ").match(/[\p{L}\p{N}]+/gu) || []).length;
      counter.textContent = "字数：" + (han + words);
    };
    form.addEventListener("input", count);
    count();
  }

  // Who else has this article open: a heartbeat, not a lock.
  const editing = document.getElementById("desk-editing");
  const url = editing && editing.dataset.heartbeatUrl;
  if (url) {
    const token = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    window.addEventListener("pagehide", () => {
      const left = new FormData();
      left.append("csrfmiddlewaretoken", token);
      left.append("left", "1");
      navigator.sendBeacon(url, left);
    });
    setInterval(async () => {
      const response = await fetch(url, { method: "POST", headers: { "X-CSRFToken": token } });
      if (!response.ok) return;
      const others = (await response.json()).others;
      editing.replaceChildren(...others.map((person) => {
        const line = document.createElement("p");
        line.textContent = `${person.name} 自 ${person.since} 起正在编辑这篇文章（可以继续修改；保存时如有冲突会提示）。`;
        return line;
      }));
      editing.hidden = others.length === 0;
    }, Number(editing.dataset.heartbeatSeconds) * 1000);
  }
})();
