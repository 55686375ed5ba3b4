import { useEffect, useState, type RefObject } from 'react';
import { FIELD_FILTERS, isUnclassifiedOnly, toggleUnclassifiedOnly, type FieldKey, type JobsUrlState } from './filters';
import { ALL_STATUSES, STATUS_LABEL } from './status';

interface Props {
  state: JobsUrlState;
  onChange: (s: JobsUrlState) => void;
  unclassified: { total: number; filtered: number };
  quickFilterRef: RefObject<HTMLInputElement | null>;
}

export function FilterBar({ state, onChange, unclassified, quickFilterRef }: Props) {
  const [text, setText] = useState(state.searchStr);
  const [field, setField] = useState<FieldKey>('job_type_name');
  const [fieldValue, setFieldValue] = useState('');
  useEffect(() => setText(state.searchStr), [state.searchStr]);

  const toggleStatus = (s: string) => {
    const has = state.resultStatus.includes(s);
    onChange({ ...state, resultStatus: has ? state.resultStatus.filter((x) => x !== s) : [...state.resultStatus, s] });
  };
  const toggleTier = (t: number) => {
    const has = state.tier.includes(t);
    const tier = has ? state.tier.filter((x) => x !== t) : [...state.tier, t].sort();
    if (tier.length) onChange({ ...state, tier });
  };
  const unclassifiedOnly = isUnclassifiedOnly(state);
  const commitText = (v: string) => {
    if (v !== state.searchStr) onChange({ ...state, searchStr: v });
  };

  return (
    <div className="filter-bar" role="toolbar" aria-label="Job filters">
      <button
        type="button"
        className={`unclassified-toggle${unclassifiedOnly ? ' on' : ''}`}
        aria-pressed={unclassifiedOnly}
        onClick={() => onChange(toggleUnclassifiedOnly(state))}
        title={`Show only unclassified failures (u). ${unclassified.filtered} match the current filters.`}
        data-testid="unclassified-toggle"
      >
        <span className="count">{unclassified.total}</span> unclassified
      </button>
      <span className="chicklets" role="group" aria-label="Result status">
        {ALL_STATUSES.map((s) => {
          const on = state.resultStatus.includes(s);
          return (
            <button
              key={s}
              type="button"
              className={`chicklet st-${s}${on ? ' on' : ''}`}
              aria-pressed={on}
              title={`${on ? 'Hide' : 'Show'} ${STATUS_LABEL[s]} jobs`}
              onClick={() => toggleStatus(s)}
              data-status={s}
            >
              <span className="dot" aria-hidden="true" />
              <span className="sr-label">{STATUS_LABEL[s]}</span>
            </button>
          );
        })}
      </span>
      <span className="tiers" role="group" aria-label="Tiers">
        {[1, 2, 3].map((t) => (
          <label key={t} className="tier-toggle">
            <input type="checkbox" checked={state.tier.includes(t)} onChange={() => toggleTier(t)} /> tier {t}
          </label>
        ))}
      </span>
      <button
        type="button"
        className={`btn-small${state.groupState === 'expanded' ? ' on' : ''}`}
        aria-pressed={state.groupState === 'expanded'}
        onClick={() => onChange({ ...state, groupState: state.groupState === 'expanded' ? 'collapsed' : 'expanded' })}
        title="Expand or collapse all job groups"
      >
        ( + )
      </button>
      <form
        className="quick-filter"
        onSubmit={(e) => {
          e.preventDefault();
          commitText(text);
        }}
      >
        <input
          ref={quickFilterRef}
          type="search"
          placeholder="Filter jobs (f)"
          aria-label="Quick filter"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            commitText(e.target.value);
          }}
        />
      </form>
      <form
        className="field-filter"
        onSubmit={(e) => {
          e.preventDefault();
          if (!fieldValue.trim()) return;
          onChange({ ...state, fields: [...state.fields, { key: field, value: fieldValue.trim() }] });
          setFieldValue('');
        }}
      >
        <select aria-label="Filter field" value={field} onChange={(e) => setField(e.target.value as FieldKey)}>
          {FIELD_FILTERS.map((f) => (
            <option key={f.key} value={f.key}>
              {f.label}
            </option>
          ))}
        </select>
        <input aria-label="Filter value" placeholder="value" value={fieldValue} onChange={(e) => setFieldValue(e.target.value)} />
        <button type="submit" className="btn-small">
          add
        </button>
      </form>
      {(state.fields.length > 0 || Object.keys(state.range).length > 0) && (
        <span className="active-filters">
          {Object.entries(state.range).map(([k, v]) => (
            <span className="chip" key={k}>
              {k}: {k.endsWith('change') || k === 'revision' ? v!.slice(0, 12) : v}
              <button type="button" aria-label={`remove ${k} filter`} onClick={() => {
                const range = { ...state.range };
                delete range[k as keyof typeof range];
                onChange({ ...state, range });
              }}>
                ×
              </button>
            </span>
          ))}
          {state.fields.map((f, i) => (
            <span className="chip" key={`${f.key}${i}`}>
              {FIELD_FILTERS.find((d) => d.key === f.key)?.label}: {f.value}
              <button type="button" aria-label={`remove ${f.key} filter`} onClick={() => onChange({ ...state, fields: state.fields.filter((_, j) => j !== i) })}>
                ×
              </button>
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
