/*
 * Portico: progressive enhancement for server-rendered pages.
 *
 * - Copy buttons:   <button data-copy-target="#selector" hidden>Copy</button>
 * - Show/hide:      <button data-toggle-secret="#secret" data-mask="#mask" hidden>Show</button>
 * - Confirmations:  <form data-confirm="Really revoke this key?">
 *
 * Buttons are rendered with `hidden` and only revealed here, so without
 * JavaScript they never appear. No dependencies, no console output, and every
 * lookup is guarded so the script cannot break a page.
 */
(function () {
  'use strict';

  const COPIED_MS = 1500;
  let liveRegion = null;

  /* Helpers ------------------------------------------------------------- */

  // querySelector that returns null instead of throwing on a bad selector.
  function find(selector) {
    if (typeof selector !== 'string' || selector.trim() === '') return null;
    try {
      return document.querySelector(selector);
    } catch (e) {
      return null;
    }
  }

  // For the page scripts that load after this one (openapi-upload.js).
  window.Portico = { find: find };

  function findAll(selector) {
    try {
      return Array.prototype.slice.call(document.querySelectorAll(selector));
    } catch (e) {
      return [];
    }
  }

  // Run one feature so that an unexpected failure cannot stop the others.
  function safely(fn) {
    try {
      fn();
    } catch (e) {
      /* deliberately silent */
    }
  }

  // Polite live region, created on first use, for screen-reader feedback.
  function announce(message) {
    if (!document.body) return;
    if (!liveRegion || !document.body.contains(liveRegion)) {
      liveRegion = document.createElement('div');
      liveRegion.className = 'visually-hidden';
      liveRegion.setAttribute('aria-live', 'polite');
      liveRegion.setAttribute('aria-atomic', 'true');
      document.body.appendChild(liveRegion);
    }
    // Clear first so the same message is announced again on repeat clicks.
    liveRegion.textContent = '';
    window.setTimeout(function () {
      if (liveRegion) liveRegion.textContent = message;
    }, 50);
  }

  /* 1. Copy to clipboard ------------------------------------------------ */

  function legacyCopy(text) {
    const previousFocus = document.activeElement;
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.setAttribute('aria-hidden', 'true');
    area.tabIndex = -1;
    // CSSOM assignments are not inline style attributes, so CSP allows them.
    area.style.position = 'fixed';
    area.style.top = '0';
    area.style.left = '-9999px';
    area.style.opacity = '0';
    document.body.appendChild(area);
    let ok = false;
    try {
      area.select();
      area.setSelectionRange(0, text.length);
      ok = typeof document.execCommand === 'function' && document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    if (previousFocus && typeof previousFocus.focus === 'function') {
      try { previousFocus.focus(); } catch (e) { /* ignore */ }
    }
    return ok;
  }

  function copyText(text) {
    const clip = navigator.clipboard;
    if (clip && typeof clip.writeText === 'function' && window.isSecureContext !== false) {
      return clip.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(text); }
      );
    }
    return Promise.resolve(legacyCopy(text));
  }

  function canCopy() {
    if (navigator.clipboard && typeof navigator.clipboard.writeText === 'function') return true;
    try {
      return typeof document.queryCommandSupported === 'function' &&
        document.queryCommandSupported('copy');
    } catch (e) {
      return false;
    }
  }

  function flashLabel(button, label) {
    if (button.dataset.originalLabel === undefined) {
      button.dataset.originalLabel = button.textContent;
    }
    button.textContent = label;
    if (button._porticoTimer) window.clearTimeout(button._porticoTimer);
    button._porticoTimer = window.setTimeout(function () {
      button.textContent = button.dataset.originalLabel;
      delete button.dataset.originalLabel;
      button._porticoTimer = null;
    }, COPIED_MS);
  }

  function initCopyButtons() {
    if (!canCopy()) return;
    findAll('button[data-copy-target]').forEach(function (button) {
      if (button.dataset.porticoReady) return;
      if (!find(button.getAttribute('data-copy-target'))) return; // stays hidden
      button.dataset.porticoReady = 'true';
      if (!button.getAttribute('type')) button.setAttribute('type', 'button');

      button.addEventListener('click', function (event) {
        event.preventDefault();
        const target = find(button.getAttribute('data-copy-target'));
        if (!target) {
          announce('Nothing to copy.');
          return;
        }
        const text = (target.textContent || '').trim();
        copyText(text).then(function (ok) {
          if (ok) {
            flashLabel(button, 'Copied');
            announce('Copied to clipboard.');
          } else {
            flashLabel(button, 'Copy failed');
            announce('Copy failed. Select the text and copy it manually.');
          }
        }).catch(function () {
          announce('Copy failed. Select the text and copy it manually.');
        });
      });

      button.hidden = false;
    });
  }

  /* 2. Show / hide secrets ---------------------------------------------- */

  function initSecretToggles() {
    findAll('button[data-toggle-secret]').forEach(function (button) {
      if (button.dataset.porticoReady) return;
      const secret = find(button.getAttribute('data-toggle-secret'));
      if (!secret) return; // stays hidden
      button.dataset.porticoReady = 'true';
      if (!button.getAttribute('type')) button.setAttribute('type', 'button');
      if (secret.id) button.setAttribute('aria-controls', secret.id);

      const render = function () {
        const shown = !secret.hidden;
        button.textContent = shown ? 'Hide' : 'Show';
        button.setAttribute('aria-pressed', shown ? 'true' : 'false');
      };

      button.addEventListener('click', function (event) {
        event.preventDefault();
        const show = secret.hidden;
        secret.hidden = !show;
        const mask = find(button.getAttribute('data-mask'));
        if (mask) mask.hidden = show;
        render();
      });

      render();
      button.hidden = false;
    });
  }

  /* 3. Confirm before submitting ---------------------------------------- */

  function initConfirmations() {
    // Delegated, capture phase: covers every form[data-confirm] on the page.
    document.addEventListener('submit', function (event) {
      const form = event.target;
      if (!form || typeof form.hasAttribute !== 'function' || !form.hasAttribute('data-confirm')) return;
      const message = form.getAttribute('data-confirm') || 'Are you sure?';
      let accepted = true;
      try {
        accepted = typeof window.confirm === 'function' ? window.confirm(message) : true;
      } catch (e) {
        accepted = true;
      }
      if (!accepted) {
        event.preventDefault();
        event.stopPropagation();
      }
    }, true);
  }

  /* Boot ---------------------------------------------------------------- */

  function init() {
    safely(initCopyButtons);
    safely(initSecretToggles);
  }

  safely(initConfirmations);
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
