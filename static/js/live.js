/* New items while a page is open (7×24 快讯 and the home page), without a reload.
 * Asks the fragment named by data-live (/7x24/new/<newest shown>/<highest key known>/, a page the
 * front cache keeps) every few seconds: the 7×24 timeline inserts what it brings, each item at its
 * place in time (a story the scraper posts late is dated before the newest shown); the home page
 * says "N 条新消息".
 * Without JavaScript both are ordinary pages.
 *
 * Loaded with `async` and started on `load` (issue #26): nothing of it runs with the page's own
 * start-up work. As a `defer` script its compile and run shared one task with DOMContentLoaded,
 * about 4 ms of CPU that a busy machine stretched past 12.5 ms, which Lighthouse's 4× CPU
 * slowdown counts as a long task (total blocking time); and a first poll counted from
 * DOMContentLoaded could fall inside a slow phone's load. */
(function () {
  "use strict";
  var INTERVAL_MS = 5000;
  var root, notice, url, countsOnly;
  var waiting = 0;

  function start() {
    root = document.querySelector("[data-live]");
    notice = document.querySelector(".live-notice");
    if (!root || !notice || !window.fetch || !window.DOMParser) {
      return;
    }
    url = root.getAttribute("data-live");
    countsOnly = root.hasAttribute("data-live-count");
    // Said only where it holds: without JavaScript the page is an ordinary one.
    var promise = document.querySelector(".live-promise");
    if (promise) {
      promise.hidden = false;
    }
    schedule();
  }

  function poll() {
    if (document.hidden) {
      schedule();
      return;
    }
    fetch(url, { credentials: "omit" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (text) {
        var fragment = new DOMParser().parseFromString(text, "text/html").querySelector(".live-new");
        if (fragment) {
          apply(fragment);
        }
      })
      .catch(function () {})
      .then(schedule);
  }

  function schedule() {
    window.setTimeout(poll, INTERVAL_MS);
  }

  function apply(fragment) {
    var count = parseInt(fragment.getAttribute("data-count"), 10) || 0;
    url = fragment.getAttribute("data-next") || url;
    if (!count) {
      return;
    }
    waiting += count;
    if (countsOnly) {
      notice.querySelector("a").textContent = waiting + " 条新消息";
      notice.hidden = false;
      return;
    }
    var days = fragment.querySelectorAll(".timeline-day");
    for (var i = days.length - 1; i >= 0; i--) {
      insertDay(days[i]);
    }
    var empty = root.querySelector(".timeline-empty");
    if (empty) {
      empty.remove();
    }
    notice.textContent = "新到 " + waiting + " 条消息";
    notice.hidden = false;
  }

  function insertDay(day) {
    var date = day.getAttribute("data-day");
    var shown = root.querySelector('.timeline-day[data-day="' + date + '"]');
    if (!shown) {
      // Days run newest first; data-day is YYYY-MM-DD, so its text sorts as its date.
      var before = Array.prototype.find.call(root.querySelectorAll(".timeline-day"), function (other) {
        return other.getAttribute("data-day") < date;
      });
      root.insertBefore(document.importNode(day, true), before || null);
      return;
    }
    var list = shown.querySelector(".timeline-list");
    var items = day.querySelectorAll(".timeline-item");
    for (var i = items.length - 1; i >= 0; i--) {
      var item = document.importNode(items[i], true);
      item.classList.add("is-new");
      list.insertBefore(item, firstNotNewer(list, timeOf(item)));
    }
  }

  // The first item of ``list`` no newer than ``time`` (null: none): a new item goes above it, as
  // the later written goes first among items of the same time.
  function firstNotNewer(list, time) {
    return Array.prototype.find.call(list.querySelectorAll(".timeline-item"), function (item) {
      return timeOf(item) <= time;
    }) || null;
  }

  // Milliseconds since 1970 of an item's <time datetime> (ISO 8601, maybe with microseconds,
  // which Date.parse does not promise to read).
  function timeOf(item) {
    var text = item.querySelector("time").getAttribute("datetime");
    return Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
  }

  if (document.readyState === "complete") {
    start();
  } else {
    window.addEventListener("load", start);
  }
})();
