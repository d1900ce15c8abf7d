// Keyboard shortcuts: each view lists its own (with what they do, for the ? overlay), the page adds
// the global ones. Keys typed into a field, or with Ctrl/Alt/Meta, are left alone.

export interface Shortcut {
  /** KeyboardEvent.key values that run it. */
  keys: string[];
  /** How the overlay writes the keys (default: the keys, joined). */
  shown?: string;
  label: string;
  run: (e: KeyboardEvent) => void;
}

export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  const tag = t.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable;
}

/** Runs the shortcut `e` names, if any; says whether one ran. */
export function dispatch(shortcuts: readonly Shortcut[], e: KeyboardEvent): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e)) return false;
  const t = e.target as HTMLElement | null;
  // Enter and space on a focused button or link do what they always do.
  if ((e.key === 'Enter' || e.key === ' ') && t && (t.tagName === 'BUTTON' || t.tagName === 'A' || t.tagName === 'SUMMARY')) return false;
  const s = shortcuts.find((x) => x.keys.includes(e.key));
  if (!s) return false;
  e.preventDefault();
  s.run(e);
  return true;
}

const NAMES: Record<string, string> = { ArrowDown: '↓', ArrowUp: '↑', ArrowLeft: '←', ArrowRight: '→', Enter: 'Enter', Escape: 'Esc', ' ': 'Space' };

export function shownKeys(s: Shortcut): string {
  return s.shown ?? s.keys.map((k) => NAMES[k] ?? k).join(' / ');
}
