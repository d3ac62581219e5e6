// Progressive enhancement for uploads: the forms work without this file.
// 1. The upload form is sent with XMLHttpRequest so a progress bar can show bytes sent.
// 2. An ingest run page that is still running polls GET /api/v1/ingest-runs/{id}.
// A failed upload ends its progress bar with the error, never an endless "processing".
// Values come from data-* attributes (HTML-escaped by the server), never from inline script.
"use strict";

(function () {
  function enhanceUploadForm(form) {
    var row = document.getElementById("upload-progress-row");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-progress-text");
    if (!row || !bar || !text || !window.FormData || !window.XMLHttpRequest) {
      return;
    }
    function fail(message) {
      // The bar stops where it was and says what went wrong; the form can be sent again.
      if (!bar.hasAttribute("value")) {
        bar.value = 0;
      }
      row.classList.add("progress-failed");
      text.setAttribute("role", "alert");
      text.textContent = message;
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = false;
      }
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = true;
      }
      row.hidden = false;
      row.classList.remove("progress-failed");
      text.removeAttribute("role");
      bar.value = 0;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var percent = Math.round((e.loaded / e.total) * 100);
          bar.value = percent;
          text.textContent = percent + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the hub ingests the file
        text.textContent = text.getAttribute("data-processing") || "";
      });
      xhr.addEventListener("load", function () {
        var landed = xhr.responseURL || "";
        if (xhr.status >= 200 && xhr.status < 300 && landed.indexOf(form.action) === -1) {
          window.location.assign(landed); // followed the redirect to the run or version page
          return;
        }
        // A page with the validation report (or an error page): show it in place.
        var type = xhr.getResponseHeader("Content-Type") || "";
        var doc = type.indexOf("text/html") === 0
          ? new DOMParser().parseFromString(xhr.responseText, "text/html")
          : null;
        var main = doc ? doc.getElementById("main") : null;
        var here = document.getElementById("main");
        if (main && here) {
          here.replaceWith(main);
          var again = document.getElementById("upload-form");
          if (again) {
            enhanceUploadForm(again);
          }
          var result = document.getElementById("upload-result");
          if (result) {
            result.scrollIntoView();
          }
        } else {
          // Not a page of ours (a proxy's refusal, a plain-text error): say so, don't resend.
          var said = (text.getAttribute("data-error-status") || "{status}")
            .replace("{status}", xhr.status + " " + (xhr.statusText || ""));
          fail(said.trim());
        }
      });
      function networkFailure() {
        fail(text.getAttribute("data-error-network") || "");
      }
      xhr.addEventListener("error", networkFailure);
      xhr.addEventListener("abort", networkFailure);
      xhr.addEventListener("timeout", networkFailure);
      xhr.send(new FormData(form));
    });
  }

  function pollIngestRun(section) {
    var url = section.getAttribute("data-run-url");
    if (!url || section.getAttribute("data-finished") === "true") {
      return;
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (run) {
          if (!run) {
            return;
          }
          if (run.status !== "running" && run.status !== "pending") {
            window.location.reload();
            return;
          }
          var bytes = document.getElementById("ingest-bytes");
          var rows = document.getElementById("ingest-rows");
          var progress = document.getElementById("ingest-progress");
          if (bytes) {
            bytes.textContent = Number(run.bytes_done).toLocaleString();
          }
          if (rows) {
            rows.textContent = Number(run.rows_done).toLocaleString();
          }
          if (progress && run.bytes_total) {
            progress.max = run.bytes_total;
            progress.value = run.bytes_done;
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () {
          window.setTimeout(tick, 3000);
        });
    }
    window.setTimeout(tick, 1000);
  }

  var form = document.getElementById("upload-form");
  if (form) {
    enhanceUploadForm(form);
  }
  var run = document.getElementById("ingest-run");
  if (run) {
    pollIngestRun(run);
  }
})();
