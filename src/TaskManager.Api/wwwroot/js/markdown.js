// Markdown from tasks and comments, rendered by marked and sanitised by DOMPurify: formatting survives, scripts,
// event handlers and javascript: links do not.
import { marked } from '../lib/marked.esm.js';
import DOMPurify from '../lib/purify.es.mjs';

DOMPurify.addHook('afterSanitizeAttributes', node => {
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

// Raw HTML in markdown is shown as text, never parsed: even a sanitiser's parse of <img onerror=…> would reach the
// browser's CSP checks. Markdown's own syntax covers what people write in tasks and comments.
const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = text => text.replace(/[&<>"']/g, c => escapes[c]);
// Images become links: loading a picture from anywhere would tell its server who viewed the task, and when (the
// page's CSP allows images from this origin only).
marked.use({
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ href, text }) => `<a href="${escapeHtml(href ?? '')}">${escapeHtml(`Image: ${text || href || ''}`)}</a>`,
  },
});

export function renderMarkdown(text) {
  const html = marked.parse(text ?? '', { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
}
