using System.Text;

namespace TaskManager.Tests.Api.Faults;

/// <summary>
/// Holds what the clients were told against what the database committed and what the stream delivered. Every broken
/// invariant is a problem; lost and duplicated writes are also counted, for docs/reliability.md.
/// </summary>
public sealed class FaultReport
{
    /// <summary>A 503 this long after a fault healed still belongs to it (a request sent during the outage answers late).</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    public List<string> Problems { get; } = [];
    public int Lost { get; private set; }
    public int Duplicated { get; private set; }

    public static FaultReport Check(
        Journal journal, CommittedState state, IReadOnlyList<long> streamed, IReadOnlyList<long> history, IReadOnlyList<FaultWindow> faults)
    {
        var report = new FaultReport();
        report.CheckTasks(journal, state);
        report.CheckComments(journal, state);
        report.CheckVersionedWrites(journal, state);
        report.CheckLog(state, streamed, history);
        report.CheckAnswers(journal, faults);
        return report;
    }

    /// <summary>Each acknowledged create is there; one task per idempotency key (the title embeds it); one task.created each.</summary>
    private void CheckTasks(Journal journal, CommittedState state)
    {
        var tasks = state.Tasks.ToDictionary(t => t.Id);
        foreach (var create in journal.Acknowledged.Where(a => a.Kind == WriteKind.Create))
        {
            if (!tasks.TryGetValue(create.TaskId, out var task) || task.Title != $"Task {create.Key}")
            {
                Lose($"Acknowledged create {create.TaskRef} ({create.Key}) is missing.");
            }
        }
        foreach (var same in state.Tasks.GroupBy(t => t.Title).Where(g => g.Count() > 1))
        {
            Duplicate(same.Count() - 1, $"{same.Count()} tasks for one idempotency key: {same.Key} ({string.Join(", ", same.Select(t => t.Ref))}).");
        }
        var created = state.Log.Where(e => e.Kind == "task.created").ToList();
        foreach (var task in state.Tasks)
        {
            var events = created.Count(e => e.TaskId == task.Id);
            if (events != 1)
            {
                Problems.Add($"Task {task.Ref} has {events} task.created events.");
            }
        }
        foreach (var orphan in created.Where(e => e.TaskId is not { } id || !tasks.ContainsKey(id)))
        {
            Problems.Add($"Event {orphan.Id} (task.created) has no task.");
        }
    }

    /// <summary>Each acknowledged comment is there once (the body embeds its key), with one comment.added event each.</summary>
    private void CheckComments(Journal journal, CommittedState state)
    {
        var comments = state.Comments.ToDictionary(c => c.Id);
        foreach (var comment in journal.Acknowledged.Where(a => a.Kind == WriteKind.Comment))
        {
            if (!comments.TryGetValue(comment.CommentId!.Value, out var stored) || stored.Body != $"Comment {comment.Key}")
            {
                Lose($"Acknowledged comment {comment.CommentId} on {comment.TaskRef} ({comment.Key}) is missing.");
            }
        }
        foreach (var same in state.Comments.GroupBy(c => c.Body).Where(g => g.Count() > 1))
        {
            Duplicate(same.Count() - 1, $"{same.Count()} comments for one idempotency key: {same.Key}.");
        }
        var added = state.Log.Where(e => e.Kind == "comment.added").GroupBy(e => Guid.Parse(e.Data.GetProperty("commentId").GetString()!))
            .ToDictionary(g => g.Key, g => g.Count());
        foreach (var comment in state.Comments.Where(c => added.GetValueOrDefault(c.Id) != 1))
        {
            Problems.Add($"Comment {comment.Id} has {added.GetValueOrDefault(comment.Id)} comment.added events.");
        }
        foreach (var orphan in added.Keys.Where(id => !comments.ContainsKey(id)))
        {
            Problems.Add($"A comment.added event names comment {orphan}, which does not exist.");
        }
    }

    /// <summary>
    /// Patches, moves and claims. Each bumps the task's version by one with one event, and a task's events are in
    /// version order (the writer holds the task's row lock when it appends): the n-th version event made version
    /// n + 1. So a task at version v has exactly v - 1 of them, and the write acknowledged at version v is the
    /// (v - 1)-th, of its own kind (a patch's carries its key).
    /// </summary>
    private void CheckVersionedWrites(Journal journal, CommittedState state)
    {
        var versionEvents = state.Log.Where(e => CommittedState.VersionEvents.Contains(e.Kind)).GroupBy(e => e.TaskId!.Value)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Id).ToList());
        foreach (var task in state.Tasks)
        {
            var events = versionEvents.GetValueOrDefault(task.Id)?.Count ?? 0;
            if (events != task.Version - 1)
            {
                Problems.Add($"Task {task.Ref} is at version {task.Version} with {events} version events (expected {task.Version - 1}).");
            }
        }
        var tasks = state.Tasks.ToDictionary(t => t.Id);
        foreach (var write in journal.Acknowledged.Where(a => a.Kind is WriteKind.Patch or WriteKind.Move or WriteKind.Claim))
        {
            var events = versionEvents.GetValueOrDefault(write.TaskId) ?? [];
            var expected = write.Kind switch { WriteKind.Patch => "task.updated", WriteKind.Move => "task.moved", _ => "task.claimed" };
            if (!tasks.TryGetValue(write.TaskId, out var task) || task.Version < write.Version || events.Count < write.Version - 1)
            {
                Lose($"Acknowledged {write.Kind} of {write.TaskRef} at version {write.Version} ({write.Key}) is missing.");
            }
            else if (events[write.Version - 2] is var made && (made.Kind != expected
                || (write.Kind == WriteKind.Patch && !made.Data.GetRawText().Contains(write.Key, StringComparison.Ordinal))))
            {
                Lose($"Version {write.Version} of {write.TaskRef} was made by event {made.Id} ({made.Kind}), not by the acknowledged {write.Kind} {write.Key}.");
            }
        }
        var patches = state.Log.Where(e => e.Kind == "task.updated")
            .Select(e => e.Data.GetProperty("changes").TryGetProperty("description", out var d) ? d.GetProperty("new").GetString() : null)
            .OfType<string>().GroupBy(d => d).Where(g => g.Count() > 1);
        foreach (var same in patches)
        {
            Duplicate(same.Count() - 1, $"{same.Count()} task.updated events for one idempotency key: {same.Key}.");
        }
    }

    /// <summary>The stream and the history pages each give the committed log (after project.created), once and in order.</summary>
    private void CheckLog(CommittedState state, IReadOnlyList<long> streamed, IReadOnlyList<long> history)
    {
        var log = state.Log.Where(e => e.Kind != "project.created").Select(e => e.Id).ToList();
        Compare("The live stream", log, streamed);
        Compare("The history pages", state.Log.Select(e => e.Id).ToList(), history);
    }

    private void Compare(string reader, List<long> log, IReadOnlyList<long> seen)
    {
        if (log.SequenceEqual(seen))
        {
            return;
        }
        var twice = seen.GroupBy(id => id).Count(g => g.Count() > 1);
        var missing = log.Except(seen).Count();
        var extra = seen.Except(log).Count();
        var first = Enumerable.Range(0, Math.Min(log.Count, seen.Count)).FirstOrDefault(i => log[i] != seen[i], Math.Min(log.Count, seen.Count));
        Problems.Add($"{reader} gave {seen.Count} ids for {log.Count} committed events: {twice} repeated, {missing} missing, {extra} never committed; "
            + $"first difference at position {first} ({Around(log, first)} committed, {Around(seen, first)} seen).");
    }

    private static string Around(IReadOnlyList<long> ids, int at) => string.Join(",", ids.Skip(Math.Max(0, at - 2)).Take(5));

    /// <summary>No 5xx but 503, and 503s only while a fault lasted (or shortly after); every write got an answer.</summary>
    private void CheckAnswers(Journal journal, IReadOnlyList<FaultWindow> faults)
    {
        Problems.AddRange(journal.Failures);
        foreach (var (at, title) in journal.Unavailable.Where(u => !faults.Any(f => u.At >= f.Start && u.At <= f.End + Grace)))
        {
            Problems.Add($"{at:HH:mm:ss.fff} 503 \"{title}\" outside every fault.");
        }
    }

    private void Lose(string problem)
    {
        Lost++;
        Problems.Add(problem);
    }

    private void Duplicate(int count, string problem)
    {
        Duplicated += count;
        Problems.Add(problem);
    }

    public override string ToString()
    {
        var text = new StringBuilder($"lost {Lost}, duplicated {Duplicated}, problems {Problems.Count}");
        foreach (var problem in Problems.Take(30))
        {
            text.Append("\n  ").Append(problem);
        }
        return text.ToString();
    }
}
