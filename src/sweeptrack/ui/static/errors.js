/* sweeptrack dashboard: collects the page's errors (uncaught, rejected, console.error) in
   window.uiErrors, so that tests can assert there were none. Loaded first on every page. */
(function () {
  'use strict';
  var errors = [];
  window.uiErrors = errors;
  window.addEventListener('error', function (event) { errors.push(String(event.message)); });
  window.addEventListener('unhandledrejection', function (event) {
    errors.push('unhandled rejection: ' + String(event.reason));
  });
  var original = console.error;
  console.error = function () {
    errors.push(Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
})();
