// The live part of the demo, on the feeds' Server-Sent Events
// (GET /api/feeds/<slug>/<user id>/events/, docs/realtime.md):
//
// - on every page, the notification feed's stream: each event redraws the
//   badge from the REST API (GET /api/feeds/notification/<user id>/?limit=0
//   gives the unseen and unread counts without reading a page), as
//   social/parts/badge.html draws it on the server;
// - on the first page of the timeline, the timeline's stream: each event
//   fetches the activities newer than the newest one shown
//   (GET /timeline/newer/?id_gt=<id>), rendered by the server with the
//   same templates as the page, and puts them on top.
//
// Nothing from an event is put into the page: an event only says which
// feed changed, and the page asks the server for what to show, so the
// HTML is the server's, escaped by its templates (no XSS from a post's
// text), and the liked state, counts and links are those of the page.
//
// EventSource reconnects by itself when a connection drops, sending the
// id of the last event it got (Last-Event-ID), and the server replays what
// was missed. When it gives up (the server answered with an error, or was
// down), the stream is opened again after a growing delay, with that id
// in ?last_event_id=. After every reconnection, and on an "event: reload"
// (the id is older than the events the server keeps), the page catches up
// by asking the server, so nothing is missed either way.
(function () {
  "use strict";
  var body = document.body;
  var MAX_DELAY = 30000;

  // Follow one feed's event stream; call onChange() for each event and
  // after each reconnection.
  function follow(url, onChange) {
    var lastId = null;
    var delay = 1000;
    var source = null;
    var dropped = false;

    function open() {
      var address = url;
      if (lastId) address += (url.indexOf("?") < 0 ? "?" : "&") + "last_event_id=" + encodeURIComponent(lastId);
      source = new EventSource(address);
      source.addEventListener("open", function () {
        delay = 1000;
        if (dropped) {
          dropped = false;
          onChange();
        }
      });
      source.addEventListener("feed", function (event) {
        if (event.lastEventId) lastId = event.lastEventId;
        var data = null;
        try {
          data = JSON.parse(event.data);
        } catch (e) {
          // Not JSON: still a change of the feed.
        }
        onChange(data);
      });
      source.addEventListener("reload", function (event) {
        if (event.lastEventId) lastId = event.lastEventId;
        onChange();
      });
      source.addEventListener("error", function () {
        dropped = true;
        if (source.readyState !== EventSource.CLOSED) return; // reconnecting by itself
        source.close();
        window.setTimeout(open, delay);
        delay = Math.min(delay * 2, MAX_DELAY);
      });
    }

    open();
    window.addEventListener("pagehide", function () {
      if (source) source.close();
    });
  }

  // Run task() at most once at a time; a call while it runs runs it once more afterwards.
  function serialised(task) {
    var running = false;
    var again = false;
    function run() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      again = false;
      Promise.resolve()
        .then(task)
        .catch(function () {
          // Offline or the server restarting: the next event or reconnection tries again.
        })
        .then(function () {
          running = false;
          if (again) run();
        });
    }
    return run;
  }

  // -- the notification badge ---------------------------------------------

  var api = body.getAttribute("data-notifications-api");
  var events = body.getAttribute("data-notifications-events");
  var link = document.getElementById("nav-notifications");

  function draw(unseen, unread) {
    var badge = document.getElementById("notification-badge");
    if (!unseen && !unread) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.id = "notification-badge";
      link.appendChild(badge);
    }
    badge.className = unseen ? "badge" : "badge badge-muted";
    badge.setAttribute("data-unseen", String(unseen));
    badge.setAttribute("data-unread", String(unread));
    badge.title = unseen ? unseen + " new, " + unread + " unread" : unread + " unread";
    badge.textContent = String(unseen || unread);
  }

  var refreshBadge = serialised(function () {
    return fetch(api + "?limit=0", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) draw(counts.unseen, counts.unread);
      });
  });

  if (api && events && link) {
    follow(events, refreshBadge);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refreshBadge();
    });
  }

  // -- the timeline ---------------------------------------------------------

  var timeline = document.getElementById("timeline-feed");
  if (!timeline || !timeline.getAttribute("data-events")) return;
  var newer = timeline.getAttribute("data-newer");

  function newestId() {
    var first = timeline.querySelector(".feed-item[data-activity-id]");
    return first ? first.getAttribute("data-activity-id") : "";
  }

  var catchUp = serialised(function () {
    var id = newestId();
    var address = newer + (id ? "?id_gt=" + encodeURIComponent(id) : "");
    return fetch(address, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status !== 200) return "";
        return response.text();
      })
      .then(function (html) {
        if (!html) return;
        var feed = timeline.querySelector(".feed");
        if (!feed) {
          var empty = timeline.querySelector(".empty");
          if (empty) empty.remove();
          feed = document.createElement("div");
          feed.className = "feed";
          timeline.insertBefore(feed, timeline.firstChild);
        }
        feed.insertAdjacentHTML("afterbegin", html);
      });
  });

  function removeDeleted(data) {
    var gone = (data && data.deleted) || [];
    for (var i = 0; i < gone.length; i++) {
      var items = timeline.querySelectorAll(".feed-item");
      for (var j = 0; j < items.length; j++) {
        if (items[j].getAttribute("data-activity-id") === String(gone[i])) items[j].remove();
      }
    }
  }

  follow(timeline.getAttribute("data-events"), function (data) {
    removeDeleted(data);
    if (!data || (data.new && data.new.length)) catchUp();
  });
})();
