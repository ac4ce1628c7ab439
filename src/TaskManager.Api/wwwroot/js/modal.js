// A modal dialog on the native <dialog> element: focus stays inside, Escape closes, the page behind is inert.
import { html, useEffect, useRef } from '../lib/standalone.module.js';

export function Modal({ label, onClose, wide, children }) {
  const dialog = useRef(null);
  const opener = useRef(document.activeElement);
  useEffect(() => {
    const element = dialog.current;
    element.showModal();
    const cancel = event => { event.preventDefault(); onClose(); };
    element.addEventListener('cancel', cancel);
    return () => {
      element.removeEventListener('cancel', cancel);
      if (element.open) element.close();
      // Back to where the user was (the card or button that opened the dialog), if it is still there.
      if (opener.current?.isConnected) opener.current.focus();
    };
  }, []);
  return html`
    <dialog ref=${dialog} class=${wide ? 'modal wide' : 'modal'} aria-label=${label}>
      <button type="button" class="close" aria-label="Close" onClick=${onClose}>×</button>
      ${children}
    </dialog>`;
}
