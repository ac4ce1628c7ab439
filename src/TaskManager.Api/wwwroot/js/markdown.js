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

export function renderMarkdown(text) {
  const html = marked.parse(text ?? '', { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
}
