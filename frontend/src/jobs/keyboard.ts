// Treeherder's keyboard shortcuts (job-view/KeyboardShortcuts.jsx).

export type Action =
  | 'nextUnclassified'
  | 'prevUnclassified'
  | 'nextJob'
  | 'prevJob'
  | 'togglePin'
  | 'pinAndBug'
  | 'pinAndComment'
  | 'save'
  | 'deleteClassification'
  | 'toggleUnclassifiedOnly'
  | 'focusFilter'
  | 'clearFilter'
  | 'openLog'
  | 'openRawLog'
  | 'nextTab'
  | 'help'
  | 'escape'
  | 'toggleInProgress'
  | 'toggleUnscheduled'
  | 'clearPinboard';

/** The help table: keys as shown, and what they do. */
export const SHORTCUTS: [string, string][] = [
  ['j / n', 'next unclassified failure'],
  ['k / p', 'previous unclassified failure'],
  ['→ / ←', 'next / previous job'],
  ['space', 'pin or unpin the selected job'],
  ['b', 'pin the job and enter a bug number'],
  ['c', 'pin the job and enter a comment'],
  ['ctrl+enter', 'save the pinboard classification'],
  ['ctrl+backspace', 'delete the selected job’s classification'],
  ['ctrl+shift+u', 'clear the pinboard'],
  ['u', 'show only unclassified failures (toggle)'],
  ['i', 'show or hide pending and running jobs'],
  ['s', 'show or hide unscheduled jobs'],
  ['f', 'focus the quick filter'],
  ['ctrl+shift+f', 'clear the quick filter'],
  ['l', 'open the log viewer'],
  ['shift+l', 'open the raw log'],
  ['t', 'next details tab'],
  ['?', 'this help'],
  ['esc', 'close help, panels and selection'],
];

/** True when the key went to a text field: plain keys then type, not act. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return el.isContentEditable;
}

type KeyLike = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey' | 'target'>;

/** Maps a key press to an action; keys typed into fields map to nothing but ctrl+enter, ctrl+backspace and esc. */
export function keyAction(e: KeyLike): Action | null {
  const ctrl = e.ctrlKey || e.metaKey;
  if (e.key === 'Escape') return 'escape';
  if (ctrl && e.key === 'Enter') return 'save';
  if (ctrl && e.key === 'Backspace') return 'deleteClassification';
  if (isTyping(e.target)) return null;
  if (e.altKey) return null;
  if (ctrl && e.shiftKey && (e.key === 'F' || e.key === 'f')) return 'clearFilter';
  if (ctrl && e.shiftKey && (e.key === 'U' || e.key === 'u')) return 'clearPinboard';
  if (ctrl) return null;
  switch (e.key) {
    case 'j':
    case 'n':
      return 'nextUnclassified';
    case 'k':
    case 'p':
      return 'prevUnclassified';
    case 'ArrowRight':
      return 'nextJob';
    case 'ArrowLeft':
      return 'prevJob';
    case ' ':
      return 'togglePin';
    case 'b':
      return 'pinAndBug';
    case 'c':
      return 'pinAndComment';
    case 'u':
      return 'toggleUnclassifiedOnly';
    case 'i':
      return 'toggleInProgress';
    case 's':
      return 'toggleUnscheduled';
    case 'f':
      return 'focusFilter';
    case 'l':
      return 'openLog';
    case 'L':
      return 'openRawLog';
    case 't':
      return 'nextTab';
    case '?':
      return 'help';
  }
  return null;
}

/**
 * The next job button in document order after `current` (or before, with
 * step -1) among the visible buttons that pass `pick`; wraps around.
 */
export function neighbour(buttons: HTMLElement[], currentId: number, step: 1 | -1, pick: (b: HTMLElement) => boolean): HTMLElement | null {
  const candidates = buttons.filter(pick);
  if (!candidates.length) return null;
  const idx = buttons.findIndex((b) => Number(b.dataset.jobId) === currentId);
  if (idx < 0) return step === 1 ? candidates[0] : candidates[candidates.length - 1];
  if (step === 1) {
    for (let i = idx + 1; i < buttons.length; i++) if (pick(buttons[i])) return buttons[i];
    return candidates[0];
  }
  for (let i = idx - 1; i >= 0; i--) if (pick(buttons[i])) return buttons[i];
  return candidates[candidates.length - 1];
}

/** An unclassified failure's button (by its status classes). */
export function isUnclassifiedFailureButton(b: HTMLElement): boolean {
  const c = b.classList;
  return (c.contains('st-testfailed') || c.contains('st-busted') || c.contains('st-exception')) && !c.contains('classified');
}
