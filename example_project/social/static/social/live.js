// The live part of the demo: the notification badge, refreshed from the
// REST API (GET /api/feeds/notification/<user id>/?limit=0 gives the
// unseen and unread counts without reading a page) every
// data-live-seconds seconds and whenever the tab is shown again. The
// badge is drawn as social/parts/badge.html draws it on the server.
(function () {
  "use strict";
  var body = document.body;
  var api = body.getAttribute("data-notifications-api");
  var link = document.getElementById("nav-notifications");
  if (!api || !link) return;
  var seconds = Math.max(1, parseInt(body.getAttribute("data-live-seconds"), 10) || 20);

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

  function refresh() {
    fetch(api + "?limit=0", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) draw(counts.unseen, counts.unread);
      })
      .catch(function () {
        // Offline or the server restarting: keep the badge as it is.
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh();
  });
})();
