/* The reader's channel in view on a phone: the channels scroll sideways there, and one far down
 * the list (a category's page) began off-screen. Only the nav scrolls, never the page (a reload
 * halfway down stays where it was); a scroll inside the nav moves nothing else on the page. */
(function () {
  "use strict";
  var nav = document.querySelector(".main-nav");
  var current = nav && nav.querySelector("[aria-current]");
  if (!current || nav.scrollWidth <= nav.clientWidth) {
    return;
  }
  // Clear of the fade at the nav's right edge: as wide as the list's own room after its last channel.
  var fade = parseFloat(getComputedStyle(current.closest("ul")).paddingRight) || 0;
  var beyond = current.getBoundingClientRect().right - (nav.getBoundingClientRect().right - fade);
  if (beyond > 0) {
    nav.scrollLeft += beyond;
  }
})();
