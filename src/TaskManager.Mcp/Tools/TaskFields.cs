using System.Text.Json.Serialization;

namespace TaskManager.Mcp.Tools;

/// <summary>A task's column on the board, in board order.</summary>
[JsonConverter(typeof(WireEnumConverter<Status>))]
public enum Status { Todo, Doing, Review, Done }

/// <summary>A task's priority, lowest first.</summary>
[JsonConverter(typeof(WireEnumConverter<Priority>))]
public enum Priority { Low, Medium, High, Critical }
