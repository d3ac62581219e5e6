// Follows a running job's log: the page works without this file (it refreshes itself).
// Polls GET /jobs/{id}/log?offset=N (as JSON) every second, appends each chunk as text and
// continues from next_offset; when the job has finished it reloads the page, which then shows
// the status, the exit code and the outputs.  The URL and the offset come from data-*
// attributes (HTML-escaped by the server), never from inline script.
"use strict";

(function () {
  var log = document.getElementById("job-log");
  if (!log || !window.fetch || log.getAttribute("data-finished") === "true") {
    return;
  }
  var url = log.getAttribute("data-log-url");
  var offset = Number(log.getAttribute("data-offset") || "0");
  if (!url) {
    return;
  }
  var live = document.getElementById("job-log-live");
  if (live) {
    live.hidden = false;
  }

  function tick() {
    fetch(url + "?offset=" + encodeURIComponent(String(offset)), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("log request answered " + response.status);
        }
        return response.json();
      })
      .then(function (chunk) {
        if (chunk.text) {
          log.appendChild(document.createTextNode(chunk.text));
          log.scrollTop = log.scrollHeight;
        }
        offset = chunk.next_offset;
        log.setAttribute("data-offset", String(offset));
        if (chunk.finished && !chunk.text) {
          window.location.reload(); // everything read: show the finished job
          return;
        }
        // A finished job may still have log left to read: ask again at once.
        window.setTimeout(tick, chunk.finished ? 0 : 1000);
      })
      .catch(function () {
        if (live) {
          live.hidden = true;
        }
      });
  }
  window.setTimeout(tick, 1000);
})();
