using System.Buffers;
using System.Globalization;
using System.Text;
using TaskManager.Api.Http;

namespace TaskManager.Api.Text;

/// <summary>
/// Which characters stored text may hold. Every text field a person or an agent writes goes through one of these two
/// rules; a character they do not allow is refused with a validation problem naming the field, the character and its
/// position, never removed: a silently changed name would differ from what the client sent, and it could not tell.
/// </summary>
/// <remarks>
/// <para>
/// <b>One-line text</b> (project and task titles, assignees, labels, token names) is how a task or an actor is named
/// on cards, in history and in what agents read over MCP. It refuses control characters (C0, DEL, C1), line and
/// paragraph separators, bidirectional controls (embeddings, overrides, isolates and the marks LRM, RLM, ALM), every
/// other invisible formatting character (zero-width space, soft hyphen, BOM, tag characters…) and noncharacters:
/// each lets two names look alike or text read differently from what is stored (the "Trojan Source" trick), and tag
/// characters carry instructions an agent reads but a person reviewing the task cannot see. Zero-width (non-)joiners
/// are the exception where writing needs them, between two non-ASCII characters (Persian and Indic words, emoji
/// sequences such as 👩‍💻), and refused next to ASCII, where they could only disguise a name like <c>claude‍code</c>.
/// Leading and trailing whitespace is trimmed by the fields themselves before this rule applies.
/// </para>
/// <para>
/// <b>Multi-line text</b> (descriptions and comments, markdown) may also hold tabs, line breaks (CR, LF, U+2028,
/// U+2029), the bidirectional marks LRM/RLM/ALM and other invisible formatting characters that right-to-left and
/// complex scripts use. It refuses the other control characters, the bidirectional embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069: the board renders text inertly, but an agent reads it raw, and a person can be shown
/// text that runs in a different order from what the agent reads), tag characters and noncharacters.
/// </para>
/// </remarks>
public static class TextRules
{
    /// <summary>Checks one-line text; <paramref name="name"/> (default: the field) is how the message refers to it.</summary>
    public static bool SingleLine(string? value, string field, Validation validation, string? name = null) =>
        Check(value, field, validation, name, multiLine: false);

    /// <summary>Checks multi-line text (markdown): tabs and line breaks allowed.</summary>
    public static bool MultiLine(string? value, string field, Validation validation, string? name = null) =>
        Check(value, field, validation, name, multiLine: true);

    /// <summary>The start of a text for history (at most <paramref name="length"/> characters), cut between characters, never inside a surrogate pair.</summary>
    public static string Excerpt(string text, int length)
    {
        if (text.Length <= length)
        {
            return text;
        }
        var cut = char.IsHighSurrogate(text[length - 1]) ? length - 1 : length;
        return text[..cut] + "…";
    }

    /// <summary>What is wrong with <paramref name="value"/> under the rule, or null when nothing is.</summary>
    public static string? Problem(string value, string name, bool multiLine)
    {
        // Whitespace the field trims is not stored, so it is not checked; positions still count from the value as sent.
        var start = multiLine ? 0 : value.Length - value.TrimStart().Length;
        var end = multiLine ? value.Length : value.TrimEnd().Length;
        var position = CountRunes(value.AsSpan(0, start));
        Rune previous = default;
        for (var i = start; i < end;)
        {
            position++;
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var length) != OperationStatus.Done)
            {
                return $"{name} contains an unpaired surrogate U+{(int)value[i]:X4} at position {position}: it is not a character.";
            }
            var next = i + length < end && Rune.DecodeFromUtf16(value.AsSpan(i + length), out var after, out _) == OperationStatus.Done
                ? after
                : default;
            if (Refused(rune, previous, next, i > start, i + length < end, multiLine) is { } what)
            {
                var named = Names.TryGetValue(rune.Value, out var characterName) ? $" ({characterName})" : "";
                return $"{name} contains {what} U+{rune.Value:X4}{named} at position {position}; remove it.";
            }
            previous = rune;
            i += length;
        }
        return null;
    }

    private static bool Check(string? value, string field, Validation validation, string? name, bool multiLine)
    {
        if (value is null || Problem(value, name ?? field, multiLine) is not { } problem)
        {
            return true;
        }
        validation.Add(field, problem);
        return false;
    }

    /// <summary>Why <paramref name="rune"/> is refused, as "a … character", or null when it is allowed.</summary>
    private static string? Refused(Rune rune, Rune previous, Rune next, bool hasPrevious, bool hasNext, bool multiLine)
    {
        var value = rune.Value;
        if (IsNoncharacter(value))
        {
            return "a noncharacter";
        }
        if (value is >= 0xE0000 and <= 0xE007F)
        {
            return "an invisible tag character";
        }
        if (value is >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069)
        {
            return "a bidirectional control character";
        }
        var category = Rune.GetUnicodeCategory(rune);
        if (multiLine)
        {
            return category == UnicodeCategory.Control && value is not ('\t' or '\n' or '\r') ? "a control character" : null;
        }
        if (value is 0x200C or 0x200D)
        {
            // Joiners belong between two non-ASCII characters (scripts, emoji); next to ASCII they only disguise a name.
            return hasPrevious && hasNext && !previous.IsAscii && !next.IsAscii ? null : "an invisible joiner";
        }
        return category switch
        {
            UnicodeCategory.Control => value is '\t' or '\n' or '\r' ? "a tab or line break" : "a control character",
            UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => "a line break",
            UnicodeCategory.Format when value is 0x200E or 0x200F or 0x061C => "a bidirectional control character",
            UnicodeCategory.Format => "an invisible formatting character",
            _ => null,
        };
    }

    /// <summary>U+FDD0–U+FDEF and the last two code points of every plane: never assigned, for internal use only.</summary>
    private static bool IsNoncharacter(int value) => value is >= 0xFDD0 and <= 0xFDEF || (value & 0xFFFE) == 0xFFFE;

    private static int CountRunes(ReadOnlySpan<char> text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }
        return count;
    }

    /// <summary>Names of the characters people are most likely to meet in a refusal and not recognise by number.</summary>
    private static readonly Dictionary<int, string> Names = new()
    {
        [0x061C] = "ARABIC LETTER MARK",
        [0x00AD] = "SOFT HYPHEN",
        [0x200B] = "ZERO WIDTH SPACE",
        [0x200C] = "ZERO WIDTH NON-JOINER",
        [0x200D] = "ZERO WIDTH JOINER",
        [0x200E] = "LEFT-TO-RIGHT MARK",
        [0x200F] = "RIGHT-TO-LEFT MARK",
        [0x2028] = "LINE SEPARATOR",
        [0x2029] = "PARAGRAPH SEPARATOR",
        [0x202A] = "LEFT-TO-RIGHT EMBEDDING",
        [0x202B] = "RIGHT-TO-LEFT EMBEDDING",
        [0x202C] = "POP DIRECTIONAL FORMATTING",
        [0x202D] = "LEFT-TO-RIGHT OVERRIDE",
        [0x202E] = "RIGHT-TO-LEFT OVERRIDE",
        [0x2060] = "WORD JOINER",
        [0x2066] = "LEFT-TO-RIGHT ISOLATE",
        [0x2067] = "RIGHT-TO-LEFT ISOLATE",
        [0x2068] = "FIRST STRONG ISOLATE",
        [0x2069] = "POP DIRECTIONAL ISOLATE",
        [0xFEFF] = "ZERO WIDTH NO-BREAK SPACE",
    };
}
