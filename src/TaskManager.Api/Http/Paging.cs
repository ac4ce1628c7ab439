using System.Text;

namespace TaskManager.Api.Http;

/// <summary>Opaque keyset cursors and bounded page sizes shared by every list endpoint.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;
    public const string BadCursor = "cursor is not a cursor this API issued; pass the nextCursor of the previous page unchanged.";

    public static string Encode(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', ["v1", .. parts])))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The cursor's parts, or null when it is not one this API issued.</summary>
    public static string[]? Decode(string cursor, int expectedParts)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(base64)).Split('\n');
            return parts.Length == expectedParts + 1 && parts[0] == "v1" && !parts.Any(p => p.Contains('\0')) ? parts[1..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A one-part cursor holding a <typeparamref name="T"/>; null when absent, a validation error when bad.</summary>
    public static T? DecodeSingle<T>(string? cursor, Validation validation) where T : struct, IParsable<T>
    {
        if (cursor is null)
        {
            return null;
        }
        if (Decode(cursor, 1) is [var part] && T.TryParse(part, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        validation.Add("cursor", BadCursor);
        return null;
    }

    /// <summary><c>order=asc</c> (default) or <c>desc</c>; true for newest first.</summary>
    public static bool ReadOrder(string? order, Validation validation)
    {
        switch (order)
        {
            case null or "asc":
                return false;
            case "desc":
                return true;
            default:
                validation.Add("order", "order must be asc (oldest first) or desc (newest first).");
                return false;
        }
    }

    public static void ValidateLimit(int? limit, Validation validation)
    {
        if (limit is < 1 or > MaxLimit)
        {
            validation.Add("limit", $"limit must be between 1 and {MaxLimit}.");
        }
    }
}
