import { useState } from 'react';
import { deleteBugJobMap, deleteNote, getBugJobMaps, getNotes } from '../api/client';
import type { FailureClassification, Job } from '../api/types';
import { useAuth } from '../lib/auth';
import { bugUrl } from '../lib/refdata';
import { formatTime, fromNaiveIso } from '../lib/time';
import { useAsync } from '../lib/useAsync';

interface Props {
  repo: string;
  job: Job;
  classifications: FailureClassification[];
  onChanged: (jobIds: number[]) => void;
}

/** The job's notes (classifications with comments) and linked bugs, deletable. */
export function Annotations({ repo, job, classifications, onChanged }: Props) {
  const auth = useAuth();
  const [err, setErr] = useState<string | null>(null);
  const { data, error, loading, reload } = useAsync(
    (signal) => Promise.all([getNotes(repo, job.id, { signal }), getBugJobMaps(repo, [job.id], { signal })]),
    [repo, job.id, job.failure_classification_id],
  );
  const name = (id: number) => classifications.find((c) => c.id === id)?.name ?? `classification ${id}`;
  const run = async (fn: () => Promise<void>) => {
    setErr(null);
    try {
      await fn();
      reload();
      onChanged([job.id]);
    } catch (e) {
      setErr((e as Error).message);
    }
  };
  if (loading && !data) return <div className="muted">Loading annotations…</div>;
  if (error) return <div className="error">Could not load annotations: {error.message}</div>;
  const [notes, maps] = data ?? [[], []];
  return (
    <div className="annotations">
      {err && <div className="error">{err}</div>}
      <h4>Classifications</h4>
      {notes.length === 0 ? (
        <div className="muted">None.</div>
      ) : (
        <table className="plain">
          <tbody>
            {notes.map((n) => (
              <tr key={n.id}>
                <td>{formatTime(fromNaiveIso(n.created))}</td>
                <td>{n.who}</td>
                <td>
                  <strong>{name(n.failure_classification_id)}</strong>
                </td>
                <td>{n.text}</td>
                <td>
                  {auth.signedIn && (
                    <button type="button" className="btn-small danger" onClick={() => run(() => deleteNote(repo, n.id))}>
                      delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Bugs</h4>
      {maps.length === 0 ? (
        <div className="muted">None.</div>
      ) : (
        <table className="plain">
          <tbody>
            {maps.map((m) => (
              <tr key={`${m.bug_id}-${m.bug_internal_id}`}>
                <td>
                  {m.bug_id != null ? (
                    <a href={bugUrl(m.bug_id)} target="_blank" rel="noreferrer">
                      {m.bug_id}
                    </a>
                  ) : (
                    `i${m.bug_internal_id}`
                  )}
                </td>
                <td>{m.who}</td>
                <td>{formatTime(fromNaiveIso(m.created))}</td>
                <td>
                  {auth.signedIn && (
                    <button type="button" className="btn-small danger" onClick={() => run(() => deleteBugJobMap(repo, job.id, m))}>
                      delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
