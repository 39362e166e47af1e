// Page behaviour that the Content-Security-Policy allows (no inline script, no on* attributes).
// Loaded deferred on every page by base.html.
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form on change (language switch, audit filter).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });

  // E-consent: <canvas data-signature-for="ID"> draws with the pointer; on submit the drawing
  // goes as a PNG data URL into the hidden input ID.
  function signaturePad(canvas) {
    var target = document.getElementById(canvas.dataset.signatureFor);
    var ctx = canvas.getContext("2d");
    var down = false;
    var drawn = false;
    function at(e) {
      var r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    }
    canvas.addEventListener("pointerdown", function (e) {
      var p = at(e);
      down = true;
      drawn = true;
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (down) {
        var p = at(e);
        ctx.lineTo(p[0], p[1]);
        ctx.stroke();
      }
    });
    window.addEventListener("pointerup", function () {
      down = false;
    });
    if (target && target.form) {
      target.form.addEventListener("submit", function () {
        if (drawn) target.value = canvas.toDataURL("image/png");
      });
    }
  }
  document.querySelectorAll("canvas[data-signature-for]").forEach(signaturePad);
})();

// A wide table scrolls inside its own box (<div class="scroll">): while it overflows, the box
// takes the keyboard focus so that it can be scrolled without a pointer (WCAG 2.1.1).
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
  document.addEventListener("htmx:afterSettle", mark);
})();

// htmx leaves a 4xx/5xx answer unswapped, so a refused live check (session ended, role
// withdrawn, form locked meanwhile) would pass in silence. Show the refusal's own reason (the
// page in the layout says why and whom to ask) above the content, and keep what was typed.
(function () {
  "use strict";
  function notice(text) {
    var main = document.querySelector("main") || document.body;
    var box = document.getElementById("htmx-refusal");
    if (!box) {
      box = document.createElement("p");
      box.id = "htmx-refusal";
      box.className = "error";
      box.setAttribute("role", "alert");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var reason = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var el = doc.querySelector("[role=alert]") || doc.querySelector("h1");
      reason = el ? el.textContent.trim() : "";
    } catch (e) {
      reason = "";
    }
    notice(
      (reason || "The server refused this request (" + xhr.status + ").") +
        " Nothing was lost from the form: reload the page or log in again, then save."
    );
  });
  document.addEventListener("htmx:sendError", function () {
    notice("The server could not be reached. Nothing was lost from the form: save again when the connection is back.");
  });
})();
