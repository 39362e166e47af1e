// The contact form's "Use my location": fills the hidden latitude/longitude fields from the
// browser's geolocation (asked only when she presses the button). Without JS the form works
// with a city or postcode.
(function () {
  "use strict";
  var button = document.getElementById("share-location");
  var status = document.getElementById("location-status");
  var lat = document.getElementById("id_latitude");
  var lon = document.getElementById("id_longitude");
  if (!button || !lat || !lon || !navigator.geolocation) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        lat.value = pos.coords.latitude.toFixed(4);
        lon.value = pos.coords.longitude.toFixed(4);
        status.textContent = "✓ " + lat.value + ", " + lon.value;
      },
      function () {
        status.textContent = "✗";
      },
      { maximumAge: 600000, timeout: 10000 }
    );
  });
})();
