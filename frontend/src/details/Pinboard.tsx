import { useState, type MutableRefObject, type RefObject } from 'react';
import type { FailureClassification, Repository } from '../api/types';
import { displayStatus } from '../jobs/status';
import { credentialsRejected, useAuth } from '../lib/auth';
import { bugUrl } from '../lib/refdata';
import { classificationProblem, deleteClassification, pinboard, saveClassification, usePinboard } from './pinboard';

interface Props {
  repo: string;
  repository: Repository | undefined;
  classifications: FailureClassification[];
  onSaved: (jobIds: number[]) => void;
  onSelectJob: (jobId: number) => void;
  requestSignIn: () => void;
  saveRef: MutableRefObject<(() => void) | null>;
  bugInputRef: RefObject<HTMLInputElement | null>;
  commentRef: RefObject<HTMLTextAreaElement | null>;
}

/** Classifications offered: all but "not classified" and the autoclassifier's own. */
const HIDDEN = new Set([1, 7]);

export function Pinboard(p: Props) {
  const pb = usePinboard();
  const auth = useAuth();
  const [bugText, setBugText] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'error' | 'ok'; text: string } | null>(null);
  const exempt = !!p.repository && (p.repository.is_try_repo || p.repository.repository_group?.name === 'project repositories');
  const problem = classificationProblem(pb.classification, pb.bugs, pb.comment, exempt);

  const addBugFromText = () => {
    const n = Number(bugText.trim().replace(/^bug\s*/i, ''));
    if (Number.isInteger(n) && n > 0) {
      pinboard.addBug(n);
      setBugText('');
      return true;
    }
    return false;
  };

  const save = async () => {
    if (busy) return;
    if (bugText.trim()) addBugFromText();
    const cur = pinboard.get();
    const jobs = [...cur.jobs.values()];
    if (!jobs.length) return;
    if (!auth.signedIn) {
      setMessage({ kind: 'error', text: 'Sign in to classify failures.' });
      p.requestSignIn();
      return;
    }
    const prob = classificationProblem(cur.classification, cur.bugs, cur.comment, exempt);
    if (prob) {
      setMessage({ kind: 'error', text: prob });
      return;
    }
    setBusy(true);
    setMessage(null);
    const res = await saveClassification(p.repo, jobs, cur.classification, cur.bugs, cur.comment);
    setBusy(false);
    if (res.saved.length) p.onSaved(res.saved);
    if (res.errors.length) {
      if (res.status === 401) credentialsRejected();
      const why =
        res.status === 404 || res.status === 405
          ? 'This server does not accept classifications yet (POST note/ is missing).'
          : res.status === 401 || res.status === 403
            ? 'The server refused your credentials; sign in again.'
            : res.errors.slice(0, 3).join('; ');
      setMessage({ kind: 'error', text: `Saved ${res.saved.length} of ${jobs.length}. ${why}` });
      for (const id of res.saved) pinboard.unpin(id);
      return;
    }
    setMessage({ kind: 'ok', text: `Classified ${res.saved.length} job${res.saved.length === 1 ? '' : 's'}.` });
    pinboard.clear();
  };
  p.saveRef.current = save;

  const unclassifyAll = async () => {
    const jobs = [...pinboard.get().jobs.values()];
    setBusy(true);
    setMessage(null);
    const done: number[] = [];
    const errors: string[] = [];
    for (const j of jobs) {
      try {
        await deleteClassification(p.repo, j.id);
        done.push(j.id);
      } catch (e) {
        errors.push(`${j.job_type_symbol}: ${(e as Error).message}`);
      }
    }
    setBusy(false);
    if (done.length) p.onSaved(done);
    setMessage(
      errors.length
        ? { kind: 'error', text: `Unclassified ${done.length} of ${jobs.length}. ${errors.slice(0, 3).join('; ')}` }
        : { kind: 'ok', text: `Unclassified ${done.length} job${done.length === 1 ? '' : 's'}.` },
    );
  };

  if (pb.jobs.size === 0 && !message) return null;
  return (
    <div className="pinboard" aria-label="Pinboard">
      <div className="pinned-jobs">
        <div className="pb-title">
          Pinboard <span className="muted">({pb.jobs.size})</span>
        </div>
        <div className="pb-jobs">
          {[...pb.jobs.values()].map((j) => (
            <span key={j.id} className="pinned-job">
              <button type="button" className={`job st-${displayStatus(j)}`} onClick={() => p.onSelectJob(j.id)} title={j.job_type_name}>
                {j.job_type_symbol}
              </button>
              <button type="button" className="unpin" aria-label={`unpin ${j.job_type_symbol}`} onClick={() => pinboard.unpin(j.id)}>
                ×
              </button>
            </span>
          ))}
          {pb.jobs.size === 0 && <span className="muted">No pinned jobs.</span>}
        </div>
      </div>
      <div className="pb-bugs">
        <div className="pb-title">Related bugs</div>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            addBugFromText();
          }}
        >
          <input ref={p.bugInputRef} aria-label="Bug number" placeholder="bug number (b)" value={bugText} onChange={(e) => setBugText(e.target.value)} inputMode="numeric" />
        </form>
        <div>
          {pb.bugs.map((b) => (
            <span key={b} className="chip">
              <a href={bugUrl(b)} target="_blank" rel="noreferrer">
                {b}
              </a>
              <button type="button" aria-label={`remove bug ${b}`} onClick={() => pinboard.removeBug(b)}>
                ×
              </button>
            </span>
          ))}
        </div>
      </div>
      <div className="pb-classify">
        <div className="pb-title">Classification</div>
        <select aria-label="Classification" value={pb.classification} onChange={(e) => pinboard.setClassification(Number(e.target.value))}>
          {p.classifications
            .filter((c) => !HIDDEN.has(c.id))
            .map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
        </select>
        <textarea ref={p.commentRef} aria-label="Comment" placeholder="comment (c)" rows={2} value={pb.comment} onChange={(e) => pinboard.setComment(e.target.value)} />
      </div>
      <div className="pb-actions">
        <button type="button" className="btn primary" onClick={save} disabled={busy || pb.jobs.size === 0} title={problem ?? 'Save (ctrl+enter)'} data-testid="pinboard-save">
          {busy ? 'Saving…' : auth.signedIn ? 'Save' : 'Sign in to save'}
        </button>
        <button type="button" className="btn" onClick={() => { pinboard.clear(); setMessage(null); }} title="Clear the pinboard (ctrl+shift+u)">
          Clear
        </button>
        {auth.signedIn && pb.jobs.size > 0 && (
          <button type="button" className="btn-small danger" onClick={unclassifyAll} disabled={busy} title="Delete the classifications and bug links of every pinned job">
            Unclassify all
          </button>
        )}
        {message && (
          <div className={message.kind === 'error' ? 'error' : 'ok'} role="status">
            {message.text}
          </div>
        )}
        {!message && problem && pb.jobs.size > 0 && <div className="muted small">{problem}</div>}
      </div>
    </div>
  );
}
