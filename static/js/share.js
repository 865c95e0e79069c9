/* 复制链接: with JavaScript, a button copies the article's address (without it, the address
 * stands selectable in its field, and the button keeps its place unseen: nothing moves when this
 * runs). No third-party script. */
(function () {
  "use strict";
  var button = document.querySelector(".copy-link");
  if (!button || !navigator.clipboard) {
    return;
  }
  var field = document.getElementById(button.getAttribute("data-copy"));
  button.disabled = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(
      function () { button.textContent = "已复制"; },
      function () { field.select(); }
    );
  });
})();
