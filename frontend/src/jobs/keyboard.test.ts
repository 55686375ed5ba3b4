import { describe, expect, it } from 'vitest';
import { isTyping, keyAction, neighbour } from './keyboard';

const key = (k: string, mods: Partial<KeyboardEvent> = {}, target: EventTarget | null = document.body) =>
  keyAction({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, target, ...mods });

describe('keyboard shortcuts', () => {
  it('maps Treeherder’s keys', () => {
    expect(key('j')).toBe('nextUnclassified');
    expect(key('n')).toBe('nextUnclassified');
    expect(key('k')).toBe('prevUnclassified');
    expect(key('p')).toBe('prevUnclassified');
    expect(key('ArrowRight')).toBe('nextJob');
    expect(key('ArrowLeft')).toBe('prevJob');
    expect(key(' ')).toBe('togglePin');
    expect(key('b')).toBe('pinAndBug');
    expect(key('c')).toBe('pinAndComment');
    expect(key('Enter', { ctrlKey: true })).toBe('save');
    expect(key('Backspace', { ctrlKey: true })).toBe('deleteClassification');
    expect(key('u')).toBe('toggleUnclassifiedOnly');
    expect(key('f')).toBe('focusFilter');
    expect(key('l')).toBe('openLog');
    expect(key('t')).toBe('nextTab');
    expect(key('?')).toBe('help');
    expect(key('Escape')).toBe('escape');
    expect(key('F', { ctrlKey: true, shiftKey: true })).toBe('clearFilter');
    expect(key('x')).toBeNull();
    expect(key('j', { ctrlKey: true })).toBeNull();
  });

  it('ignores keys typed into fields, except ctrl+enter, ctrl+backspace and esc', () => {
    const input = document.createElement('input');
    const textarea = document.createElement('textarea');
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
    expect(isTyping(input)).toBe(true);
    expect(isTyping(checkbox)).toBe(false);
    for (const t of [input, textarea]) {
      expect(key('j', {}, t)).toBeNull();
      expect(key(' ', {}, t)).toBeNull();
      expect(key('Enter', { ctrlKey: true }, t)).toBe('save');
      expect(key('Backspace', { ctrlKey: true }, t)).toBe('deleteClassification');
      expect(key('Escape', {}, t)).toBe('escape');
    }
    expect(key('j', {}, checkbox)).toBe('nextUnclassified');
  });
});

describe('neighbour', () => {
  const make = (ids: number[]) =>
    ids.map((id) => {
      const b = document.createElement('button');
      b.dataset.jobId = String(id);
      if (id % 2) b.classList.add('odd');
      return b;
    });
  const odd = (b: HTMLElement) => b.classList.contains('odd');
  it('finds the next and previous match and wraps around', () => {
    const bs = make([1, 2, 3, 4, 5]);
    expect(neighbour(bs, 1, 1, odd)?.dataset.jobId).toBe('3');
    expect(neighbour(bs, 5, 1, odd)?.dataset.jobId).toBe('1');
    expect(neighbour(bs, 1, -1, odd)?.dataset.jobId).toBe('5');
    expect(neighbour(bs, 99, 1, odd)?.dataset.jobId).toBe('1');
    expect(neighbour(bs, 99, -1, odd)?.dataset.jobId).toBe('5');
    expect(neighbour(make([2, 4]), 2, 1, odd)).toBeNull();
  });
});
