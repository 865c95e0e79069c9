/* 分享 on an article's page. No third-party script.
 *
 * 复制链接: with JavaScript, a button copies the article's address (without it, the address
 * stands selectable in its field, and the button keeps its place unseen: nothing moves when this
 * runs).
 *
 * 微信扫码分享: the page links to the QR code's drawing; this puts the drawing itself in its place,
 * as a lazy image in the closed <details>, fetched when a reader opens it. Without JavaScript the
 * link stays (browsers then load lazy images with the page, and the server draws each one). */
(function () {
  "use strict";
  var link = document.querySelector(".qr-code-link");
  if (link) {
    var image = document.createElement("img");
    image.className = "qr-code";
    image.loading = "lazy";
    image.width = image.height = 164;
    image.alt = link.getAttribute("data-alt");
    link.replaceWith(image);
    // Once in the page and lazy: a source set before is fetched at once.
    image.src = link.href;
  }

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
