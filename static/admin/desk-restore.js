// A local draft the editor chose to restore (static/admin/desk.js), written into the article form
// while the page is read: before the body editor (a module, run after parsing) reads its textarea.
(function () {
  "use strict";
  const fields = JSON.parse(sessionStorage.getItem("finews:restore:" + location.pathname) || "null");
  const form = document.getElementById("article_form");
  if (!fields || !form) return;
  for (const [name, value] of Object.entries(fields)) {
    for (const element of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
      if (element.type === "checkbox" || element.type === "radio") element.checked = element.value === value;
      else if (element.multiple) for (const option of element.options) option.selected = value.includes(option.value);
      else element.value = value;
    }
  }
})();
