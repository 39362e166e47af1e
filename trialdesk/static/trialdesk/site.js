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
