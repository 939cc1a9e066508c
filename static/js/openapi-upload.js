/*
 * Portico: reads an OpenAPI file into the document textarea of the admin API form.
 *
 *   <div data-openapi-upload hidden>
 *     <input type="file" data-openapi-file="#openapi_document" aria-describedby="ID-note">
 *   </div>
 *
 * The file field is rendered hidden and revealed here, so without JavaScript the page offers
 * only the textarea (paste the document). The file is never uploaded as a file: its text goes
 * into the textarea and travels with the ordinary form, where the server checks it.
 */
(function () {
  'use strict';

  const MAX_BYTES = 60 * 1024;

  // portico.js, deferred before this script on every page, lends its guarded querySelector.
  if (!window.Portico) return; // the file field stays hidden
  const find = window.Portico.find;

  function setUp(input) {
    const target = find(input.getAttribute('data-openapi-file'));
    if (!target || typeof window.FileReader !== 'function') return; // stays hidden
    const note = document.getElementById(input.id + '-note');
    const say = function (message) {
      if (note) note.textContent = message;
    };

    input.addEventListener('change', function () {
      const file = input.files && input.files[0];
      if (!file) return;
      if (file.size > MAX_BYTES) {
        say(file.name + ' is larger than 60 KiB, the largest OpenAPI document Portico keeps.');
        input.value = '';
        return;
      }
      const reader = new FileReader();
      reader.onload = function () {
        target.value = typeof reader.result === 'string' ? reader.result : '';
        say('Read ' + file.name + ' into the document field. Save the form to keep it.');
      };
      reader.onerror = function () {
        say(file.name + ' could not be read. Paste the document instead.');
      };
      reader.readAsText(file);
    });

    const wrapper = input.closest('[data-openapi-upload]');
    if (wrapper) wrapper.hidden = false;
  }

  function init() {
    document.querySelectorAll('input[type="file"][data-openapi-file]').forEach(function (input) {
      try {
        setUp(input);
      } catch (e) {
        /* the textarea still works */
      }
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
