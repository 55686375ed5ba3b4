import { SHORTCUTS } from '../jobs/keyboard';
import { ALL_STATUSES, STATUS_LABEL } from '../jobs/status';

export function HelpOverlay({ onClose }: { onClose: () => void }) {
  return (
    <div className="modal-backdrop" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal help">
        <h3>Keyboard shortcuts</h3>
        <table className="plain">
          <tbody>
            {SHORTCUTS.map(([k, what]) => (
              <tr key={k}>
                <td>
                  <kbd>{k}</kbd>
                </td>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="small muted">Keys typed into a text field type; only ctrl+enter, ctrl+backspace and esc act there. Ctrl-click a job to pin it.</p>
        <h3>Job buttons</h3>
        <div className="legend">
          {ALL_STATUSES.map((s) => (
            <span key={s} className="legend-item">
              <span className={`job st-${s}`}>B</span> {STATUS_LABEL[s]}
            </span>
          ))}
          <span className="legend-item">
            <span className="job st-testfailed classified">
              B<span className="star">★</span>
            </span>{' '}
            classified failure
          </span>
          <span className="legend-item">
            <span className="job st-testfailed classified">
              B<span className="star">☆</span>
            </span>{' '}
            autoclassified
          </span>
        </div>
        <p className="small muted">
          Besides colour, each status has its own shape: failures are filled (busted striped, exception dotted), retries have a dashed border,
          cancelled jobs are struck through, pending jobs have a dotted border and running ones a bold border.
        </p>
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose} autoFocus>
            Close (esc)
          </button>
        </div>
      </div>
    </div>
  );
}
