package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herder-ci/herder/core/model"
	"github.com/herder-ci/herder/core/store"
)

// jobColumn maps a filter field to its column. Fields of reference tables
// filter through a subquery on that table, which both backends turn into a
// semi-join on its small unique index.
type jobColumn struct {
	col string // column of job j (or tc, the task metadata)
	// ref, when set, filters col IN (SELECT id FROM ref.table WHERE ref.col ...).
	refTable, refCol string
	needsTC          bool
}

var jobColumns = map[store.JobField]jobColumn{
	store.JobID:                          {col: "j.id"},
	store.JobPushID:                      {col: "j.push_id"},
	store.JobTier:                        {col: "j.tier"},
	store.JobGUID:                        {col: "j.guid"},
	store.JobTaskID:                      {col: "tc.task_id", needsTC: true},
	store.JobRetryID:                     {col: "tc.retry_id", needsTC: true},
	store.JobBuildArchitecture:           {col: "j.build_platform_id", refTable: "build_platform", refCol: "architecture"},
	store.JobBuildOS:                     {col: "j.build_platform_id", refTable: "build_platform", refCol: "os_name"},
	store.JobBuildPlatform:               {col: "j.build_platform_id", refTable: "build_platform", refCol: "platform"},
	store.JobBuildPlatformID:             {col: "j.build_platform_id"},
	store.JobBuildSystemType:             {col: "j.signature_id", refTable: "reference_data_signatures", refCol: "build_system_type"},
	store.JobMachinePlatformArchitecture: {col: "j.machine_platform_id", refTable: "machine_platform", refCol: "architecture"},
	store.JobMachinePlatformOS:           {col: "j.machine_platform_id", refTable: "machine_platform", refCol: "os_name"},
	store.JobPlatform:                    {col: "j.machine_platform_id", refTable: "machine_platform", refCol: "platform"},
	store.JobMachineName:                 {col: "j.machine_id", refTable: "machine", refCol: "name"},
	store.JobGroupID:                     {col: "j.job_group_id"},
	store.JobGroupName:                   {col: "j.job_group_id", refTable: "job_group", refCol: "name"},
	store.JobGroupSymbol:                 {col: "j.job_group_id", refTable: "job_group", refCol: "symbol"},
	store.JobTypeID:                      {col: "j.job_type_id"},
	store.JobTypeName:                    {col: "j.job_type_id", refTable: "job_type", refCol: "name"},
	store.JobTypeSymbol:                  {col: "j.job_type_id", refTable: "job_type", refCol: "symbol"},
	store.JobRefDataName:                 {col: "j.signature_id", refTable: "reference_data_signatures", refCol: "name"},
	store.JobSignature:                   {col: "j.signature_id", refTable: "reference_data_signatures", refCol: "signature"},
	store.JobOptionCollectionHash:        {col: "j.option_collection_hash"},
	store.JobFailureClassificationID:     {col: "j.failure_classification_id"},
	store.JobReason:                      {col: "j.reason"},
	store.JobState:                       {col: "j.state"},
	store.JobResult:                      {col: "j.result"},
	store.JobWho:                         {col: "j.who"},
	store.JobLastModified:                {col: "j.last_modified"},
	store.JobSubmitTime:                  {col: "j.submit_time"},
	store.JobStartTime:                   {col: "j.start_time"},
	store.JobEndTime:                     {col: "j.end_time"},
}

var opSQL = map[store.Op]string{
	store.OpEq: "=", store.OpNe: "<>", store.OpLt: "<", store.OpLte: "<=", store.OpGt: ">", store.OpGte: ">=",
}

// comparison renders "expr OP ?" or "expr IN (?,...)".
func comparison(expr string, op store.Op, values []any) (string, []any, error) {
	if op == store.OpIn {
		if len(values) == 0 {
			return "1 = 0", nil, nil
		}
		return expr + " IN " + inList(len(values)), values, nil
	}
	sqlOp, ok := opSQL[op]
	if !ok || len(values) != 1 {
		return "", nil, fmt.Errorf("bad comparison %d with %d values", op, len(values))
	}
	return expr + " " + sqlOp + " ?", values, nil
}

// jobWhere renders a query's conditions; tc says the task metadata join is
// needed for them.
func (s *Store) jobWhere(q store.JobQuery) (where string, args []any, tc bool, err error) {
	var parts []string
	if q.RepositoryID != 0 {
		parts = append(parts, "j.repository_id = ?")
		args = append(args, q.RepositoryID)
	}
	for _, c := range q.Conds {
		col, ok := jobColumns[c.Field]
		if !ok {
			return "", nil, false, fmt.Errorf("unknown job field %d", c.Field)
		}
		tc = tc || col.needsTC
		var part string
		var vals []any
		if col.refTable != "" {
			op := c.Op
			outer := " IN "
			if op == store.OpNe {
				op, outer = store.OpEq, " NOT IN "
			}
			if op != store.OpEq && op != store.OpIn {
				return "", nil, false, fmt.Errorf("job field %d compares only for equality", c.Field)
			}
			inner, v, err := comparison(col.refCol, op, c.Values)
			if err != nil {
				return "", nil, false, err
			}
			part, vals = col.col+outer+"(SELECT id FROM "+col.refTable+" WHERE "+inner+")", v
		} else {
			part, vals, err = comparison(col.col, c.Op, c.Values)
			if err != nil {
				return "", nil, false, err
			}
			if s.recentChanges(c) {
				part = "likelihood(" + part + ", 0.000001)"
			}
		}
		parts = append(parts, part)
		args = append(args, vals...)
	}
	if len(parts) == 0 {
		return "", args, tc, nil
	}
	return " WHERE " + strings.Join(parts, " AND "), args, tc, nil
}

// jobSelectList is the job columns every job read scans (jobScanner).
// recentChanges says a condition asks for jobs changed in the last hour,
// as the UI's polls do, on SQLite. SQLite keeps no statistics of value
// ranges, so it reads every job of the polled pushes (30,000 index entries
// and rows for ten full pushes) rather than the few recent entries of
// ix_job_last_modified; likelihood() tells it the range is the small side.
// (MySQL estimates ranges by diving into the index and needs no hint.)
func (s *Store) recentChanges(c store.JobCond) bool {
	if s.d.name != "sqlite" || c.Field != store.JobLastModified || (c.Op != store.OpGt && c.Op != store.OpGte) || len(c.Values) != 1 {
		return false
	}
	since, ok := c.Values[0].(int64)
	return ok && since >= s.nowMicros()-int64(time.Hour/time.Microsecond)
}

const jobSelectList = `j.id, j.guid, j.repository_id, j.push_id, j.signature_id, j.build_platform_id,
	j.machine_platform_id, j.machine_id, j.option_collection_hash, j.job_type_id, j.job_group_id, j.product_id,
	j.failure_classification_id, j.who, j.reason, j.result, j.state, j.submit_time, j.start_time, j.end_time,
	j.last_modified, j.tier, tc.task_id, tc.retry_id`

const jobColumnsSQL = "SELECT " + jobSelectList + " FROM "

// jobScanner scans job rows into reused byte buffers and parses them:
// database/sql's own conversion allocates a string per integer, and a page
// holds tens of thousands of values. Few distinct values fill the state,
// result, reason, who and option columns: they are interned instead of
// allocating a string per row.
type jobScanner struct {
	cols     []sql.RawBytes
	dest     []any
	interned map[string]string
}

// newJobScanner scans jobSelectList's columns and extra more after them.
func newJobScanner(extra int) *jobScanner {
	js := &jobScanner{cols: make([]sql.RawBytes, jobScanColumns+extra), interned: map[string]string{}}
	js.dest = make([]any, len(js.cols))
	for i := range js.cols {
		js.dest[i] = &js.cols[i]
	}
	return js
}

const jobScanColumns = 24

func (js *jobScanner) intern(b sql.RawBytes) string {
	if v, ok := js.interned[string(b)]; ok {
		return v
	}
	v := string(b)
	js.interned[v] = v
	return v
}

// scan reads the current row's job columns.
func (js *jobScanner) scan(rows *sql.Rows) (store.JobRecord, rowRefs, error) {
	var j store.JobRecord
	var r rowRefs
	if err := rows.Scan(js.dest...); err != nil {
		return j, r, fmt.Errorf("scan job: %w", err)
	}
	cols := js.cols
	var p intParser
	j.ID, j.GUID, j.RepositoryID, j.PushID = p.int(cols[0]), string(cols[1]), p.int(cols[2]), p.int(cols[3])
	r.sig, r.bp, r.mp, r.machine = p.int(cols[4]), p.int(cols[5]), p.int(cols[6]), p.int(cols[7])
	j.OptionCollection, r.jt, r.jg, r.product = js.intern(cols[8]), p.int(cols[9]), p.int(cols[10]), p.int(cols[11])
	j.FailureClass, j.Who, j.Reason, j.Result, j.State = p.int(cols[12]), js.intern(cols[13]), js.intern(cols[14]), js.intern(cols[15]), js.intern(cols[16])
	j.SubmitTime, j.StartTime, j.EndTime, j.LastModified = p.int(cols[17]), p.int(cols[18]), p.int(cols[19]), p.int(cols[20])
	j.Tier = int(p.int(cols[21]))
	if cols[22] != nil {
		j.TaskID, j.RetryID, j.HasTaskMetadata = string(cols[22]), int(p.int(cols[23])), true
	}
	if p.err != nil {
		return j, r, fmt.Errorf("scan job: %w", p.err)
	}
	j.BuildPlatformID, j.MachinePlatformID, j.JobTypeID, j.JobGroupID = r.bp, r.mp, r.jt, r.jg
	return j, r, nil
}

// rowRefs are the reference ids of one job row read back, resolved through the cache.
type rowRefs struct {
	sig, bp, mp, machine, jt, jg, product int64
}

// QueryJobs reads one indexed page of job rows and resolves their reference
// data from the read cache.
func (s *Store) QueryJobs(ctx context.Context, q store.JobQuery) ([]store.JobRecord, error) {
	where, args, tcNeeded, err := s.jobWhere(q)
	if err != nil {
		return nil, fmt.Errorf("query jobs: %w", err)
	}
	order := " ORDER BY j.id"
	if q.Order == store.OrderNewestPush {
		order = " ORDER BY j.push_id DESC, j.start_time DESC, j.id DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1 << 30
	}
	var query string
	if q.Offset > 0 {
		// A deferred join: the rows before the page are skipped on the index
		// alone, and only the page's rows are read and joined.
		inner := "SELECT j.id FROM job j"
		if tcNeeded {
			inner += " JOIN taskcluster_metadata tc ON tc.job_id = j.id"
		}
		query = jobColumnsSQL + "(" + inner + where + order + " LIMIT ? OFFSET ?) page JOIN job j ON j.id = page.id" +
			" LEFT JOIN taskcluster_metadata tc ON tc.job_id = j.id" + order
		args = append(args, limit, q.Offset)
	} else {
		query = jobColumnsSQL + "job j LEFT JOIN taskcluster_metadata tc ON tc.job_id = j.id" + where + order
		if q.Limit > 0 {
			query += " LIMIT ?"
			args = append(args, limit)
		}
	}
	// Lookups by id, single-push pages and the UI's polls of its (up to 20)
	// pushes are few shapes asked often.
	run := s.db.QueryContext
	if len(args) <= 3 || (polled(q) && len(args) <= 24) {
		run = s.queryPrepared
	}
	rows, err := run(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query jobs: %w", err)
	}
	defer rows.Close()
	// Polls and lookups return few rows: start small rather than zeroing
	// room for a whole page (a JobRecord is 600 bytes).
	size := min(max(q.Limit, 16), 256)
	if polled(q) {
		size = 16
	}
	out := make([]store.JobRecord, 0, size)
	refs := make([]rowRefs, 0, size)
	js := newJobScanner(0)
	for rows.Next() {
		j, r, err := js.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query jobs: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := s.resolve(ctx, out, refs); err != nil {
		return nil, err
	}
	return out, nil
}

// resolve fills the jobs' reference values, loading those not cached yet.
func (s *Store) resolve(ctx context.Context, out []store.JobRecord, refs []rowRefs) error {
	missing := s.resolveJobs(out, refs)
	if missing == nil {
		return nil
	}
	if err := s.warm(ctx, *missing); err != nil {
		return err
	}
	s.resolveJobs(out, refs)
	return nil
}

// polled says the query asks what changed since a time: usually nothing.
func polled(q store.JobQuery) bool {
	for _, c := range q.Conds {
		if c.Field == store.JobLastModified {
			return true
		}
	}
	return false
}

// intParser parses integer columns read as text, keeping the first error.
type intParser struct{ err error }

func (p *intParser) int(b sql.RawBytes) int64 {
	var n int64
	neg := len(b) > 0 && b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || len(digits) > 18 {
		// Empty, NULL or too long for the fast path.
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil && p.err == nil {
			p.err = fmt.Errorf("integer column %q: %w", b, err)
		}
		return v
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			if p.err == nil {
				p.err = fmt.Errorf("integer column %q: not a number", b)
			}
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// resolveJobs fills the jobs' reference values from the read cache and
// returns the ids it did not find there, or nil when it found them all.
func (s *Store) resolveJobs(out []store.JobRecord, refs []rowRefs) *refIDs {
	c := s.reads()
	c.mu.RLock()
	defer c.mu.RUnlock()
	var miss *refIDs
	need := func() *refIDs {
		if miss == nil {
			miss = &refIDs{}
		}
		return miss
	}
	for i := range out {
		j, r := &out[i], refs[i]
		sig, ok := c.signatures[r.sig]
		if !ok {
			need().signatures = append(need().signatures, r.sig)
		}
		bp, ok := c.buildPlatforms[r.bp]
		if !ok {
			need().buildPlatforms = append(need().buildPlatforms, r.bp)
		}
		mp, ok := c.machinePlatforms[r.mp]
		if !ok {
			need().machinePlatforms = append(need().machinePlatforms, r.mp)
		}
		machine, ok := c.machines[r.machine]
		if !ok {
			need().machines = append(need().machines, r.machine)
		}
		product, ok := c.products[r.product]
		if !ok {
			need().products = append(need().products, r.product)
		}
		jt, ok := c.jobTypes[r.jt]
		if !ok {
			need().jobTypes = append(need().jobTypes, r.jt)
		}
		jg, ok := c.jobGroups[r.jg]
		if !ok {
			need().jobGroups = append(need().jobGroups, r.jg)
		}
		repo, ok := c.repos[j.RepositoryID]
		if !ok {
			need().repos = append(need().repos, j.RepositoryID)
		}
		rev, ok := c.pushRevisions[j.PushID]
		if !ok {
			need().pushes = append(need().pushes, j.PushID)
		}
		options, ok := c.options[j.OptionCollection]
		if !ok {
			need().hashes = append(need().hashes, j.OptionCollection)
		}
		j.Signature, j.ReferenceName, j.BuildSystemType = sig.signature, sig.name, sig.buildSystemType
		j.BuildPlatform, j.MachinePlatform = bp, mp
		j.Machine, j.Product = machine, product
		j.JobType = model.NamedSymbol{Name: jt.name, Symbol: jt.symbol}
		j.JobGroup = model.NamedSymbol{Name: jg.name, Symbol: jg.symbol}
		j.JobTypeDescription, j.JobGroupDescription = jt.description, jg.description
		j.RepositoryName, j.PushRevision = repo, rev
		j.Options = options
		j.PlatformOption = platformOption(options)
	}
	return miss
}

// CountJobs counts the matching jobs with the same indexes the page query
// uses; Treeherder's paginator reports this total.
func (s *Store) CountJobs(ctx context.Context, q store.JobQuery) (int64, error) {
	where, args, tc, err := s.jobWhere(q)
	if err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	from := "SELECT COUNT(*) FROM job j"
	if tc {
		from += " JOIN taskcluster_metadata tc ON tc.job_id = j.id"
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, from+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

// JobByID reads one job with its logs in one query: the job joined to its
// task and its logs, one row per log. Job detail is the API's most frequent
// lookup, and on MySQL a statement's fixed cost is most of such a read.
func (s *Store) JobByID(ctx context.Context, repositoryID, id int64) (store.JobRecord, error) {
	// No ORDER BY: sorting the logs here spares MySQL a temporary table.
	query := jobByIDSQL + " AND j.repository_id = ?"
	args := []any{id, repositoryID}
	if repositoryID == 0 {
		query, args = jobByIDSQL, args[:1]
	}
	rows, err := s.queryPrepared(ctx, query, args...)
	if err != nil {
		return store.JobRecord{}, fmt.Errorf("read job %d: %w", id, err)
	}
	defer rows.Close()
	js := newJobScanner(7)
	var job []store.JobRecord
	var refs []rowRefs
	for rows.Next() {
		j, r, err := js.scan(rows)
		if err != nil {
			return store.JobRecord{}, err
		}
		if len(job) == 0 {
			job, refs = append(job, j), append(refs, r)
		}
		lc := js.cols[jobScanColumns:]
		if lc[0] == nil {
			continue // no logs: the LEFT JOIN's single row of NULLs
		}
		var p intParser
		l := model.JobLog{ID: p.int(lc[0]), JobID: p.int(lc[1]), Name: string(lc[2]), URL: string(lc[3]),
			Status: int(p.int(lc[4])), StatusReason: string(lc[5]), AlgorithmVersion: string(lc[6])}
		if p.err != nil {
			return store.JobRecord{}, fmt.Errorf("scan job log: %w", p.err)
		}
		job[0].Logs = append(job[0].Logs, l)
	}
	if err := rows.Err(); err != nil {
		return store.JobRecord{}, fmt.Errorf("read job %d: %w", id, err)
	}
	if len(job) == 0 {
		return store.JobRecord{}, fmt.Errorf("job %d: %w", id, store.ErrNotFound)
	}
	if err := s.resolve(ctx, job, refs); err != nil {
		return store.JobRecord{}, err
	}
	sortLogs(job[0].Logs)
	return job[0], nil
}

// logCols are a model.JobLog's columns in the order scanLogs reads them.
const logCols = "l.id, l.job_id, l.name, l.url, l.status, l.status_reason, l.algorithm_version"

const jobByIDSQL = "SELECT " + jobSelectList + ", " + logCols + `
	FROM job j LEFT JOIN taskcluster_metadata tc ON tc.job_id = j.id LEFT JOIN job_log l ON l.job_id = j.id
	WHERE j.id = ?`

const logSelect = "SELECT " + logCols + " FROM job_log l"

func scanLogs(rows *sql.Rows) ([]model.JobLog, error) {
	defer rows.Close()
	var out []model.JobLog
	for rows.Next() {
		var l model.JobLog
		if err := rows.Scan(&l.ID, &l.JobID, &l.Name, &l.URL, &l.Status, &l.StatusReason, &l.AlgorithmVersion); err != nil {
			return nil, fmt.Errorf("scan job log: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// JobLogs lists the logs of jobs, optionally only of one repository's jobs.
func (s *Store) JobLogs(ctx context.Context, repositoryID int64, jobIDs []int64) ([]model.JobLog, error) {
	var out []model.JobLog
	for start := 0; start < len(jobIDs); start += 500 {
		end := min(start+500, len(jobIDs))
		q := logSelect
		args := anySlice(jobIDs[start:end])
		if repositoryID != 0 {
			q += " JOIN job j ON j.id = l.job_id WHERE j.repository_id = ? AND l.job_id IN " + inList(end-start)
			args = append([]any{repositoryID}, args...)
		} else {
			q += " WHERE l.job_id IN " + inList(end-start)
		}
		run := s.db.QueryContext
		if end-start == 1 {
			run = s.queryPrepared
		}
		// Sorted here rather than by a filesort in the database.
		rows, err := run(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read job logs: %w", err)
		}
		logs, err := scanLogs(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, logs...)
	}
	sortLogs(out)
	return out, nil
}

// sortLogs orders logs by id, the order they were written in.
func sortLogs(logs []model.JobLog) {
	slices.SortFunc(logs, func(a, b model.JobLog) int { return cmp.Compare(a.ID, b.ID) })
}

func (s *Store) JobLogByID(ctx context.Context, repositoryID, id int64) (model.JobLog, error) {
	rows, err := s.db.QueryContext(ctx, logSelect+" JOIN job j ON j.id = l.job_id WHERE l.id = ? AND (? = 0 OR j.repository_id = ?)",
		id, repositoryID, repositoryID)
	if err != nil {
		return model.JobLog{}, fmt.Errorf("read job log %d: %w", id, err)
	}
	logs, err := scanLogs(rows)
	if err != nil {
		return model.JobLog{}, err
	}
	if len(logs) == 0 {
		return model.JobLog{}, fmt.Errorf("job log %d: %w", id, store.ErrNotFound)
	}
	return logs[0], nil
}

func (s *Store) TextLogErrors(ctx context.Context, jobID int64) ([]store.TextLogError, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, job_id, line, line_number, new_failure FROM text_log_error WHERE job_id = ? ORDER BY id", jobID)
	if err != nil {
		return nil, fmt.Errorf("read text log errors of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []store.TextLogError
	for rows.Next() {
		var e store.TextLogError
		if err := rows.Scan(&e.ID, &e.JobID, &e.Line, &e.LineNumber, &e.NewFailure); err != nil {
			return nil, fmt.Errorf("scan text log error: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) TaskclusterMetadata(ctx context.Context, jobIDs []int64) ([]store.TaskclusterMetadata, error) {
	var out []store.TaskclusterMetadata
	for start := 0; start < len(jobIDs); start += 500 {
		end := min(start+500, len(jobIDs))
		// The UI asks for the task of one job or a few.
		run := s.db.QueryContext
		if end-start <= 4 {
			run = s.queryPrepared
		}
		rows, err := run(ctx, "SELECT job_id, task_id, retry_id FROM taskcluster_metadata WHERE job_id IN "+inList(end-start)+" ORDER BY job_id",
			anySlice(jobIDs[start:end])...)
		if err != nil {
			return nil, fmt.Errorf("read task metadata: %w", err)
		}
		for rows.Next() {
			var m store.TaskclusterMetadata
			if err := rows.Scan(&m.JobID, &m.TaskID, &m.RetryID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan task metadata: %w", err)
			}
			out = append(out, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OptionCollections lists every option collection with its option names, in
// the order the rows were written.
func (s *Store) OptionCollections(ctx context.Context) ([]store.OptionCollection, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT oc.option_collection_hash, o.name FROM option_collection oc JOIN `option` o ON o.id = oc.option_id ORDER BY oc.id")
	if err != nil {
		return nil, fmt.Errorf("read option collections: %w", err)
	}
	defer rows.Close()
	var out []store.OptionCollection
	idx := map[string]int{}
	for rows.Next() {
		var h, n string
		if err := rows.Scan(&h, &n); err != nil {
			return nil, fmt.Errorf("scan option collection: %w", err)
		}
		i, ok := idx[h]
		if !ok {
			i = len(out)
			idx[h] = i
			out = append(out, store.OptionCollection{Hash: h})
		}
		out[i].Options = append(out[i].Options, n)
	}
	return out, rows.Err()
}

func (s *Store) MachinePlatforms(ctx context.Context) ([]store.MachinePlatform, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, os_name, platform, architecture FROM machine_platform ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read machine platforms: %w", err)
	}
	defer rows.Close()
	var out []store.MachinePlatform
	for rows.Next() {
		var p store.MachinePlatform
		if err := rows.Scan(&p.ID, &p.OSName, &p.Platform.Platform, &p.Architecture); err != nil {
			return nil, fmt.Errorf("scan machine platform: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
