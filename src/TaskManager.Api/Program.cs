using TaskManager.Api.Auth;
using TaskManager.Api.Board;
using TaskManager.Api.Comments;
using TaskManager.Api.Database;
using TaskManager.Api.Events;
using TaskManager.Api.Http;
using TaskManager.Api.Projects;
using TaskManager.Api.Tasks;

HealthProbe.ExitIfRequested(args);

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddDatabase();
builder.AddTokenAuth();
builder.AddHttpConventions();
builder.AddIdempotency();
builder.AddProjects();
builder.AddTasks();
builder.AddEvents();

var app = builder.Build();

app.UseHttpConventions();
app.UseBoard();
app.UseAuthentication();
app.UseAuthorization();
app.UseQueryBindingCheck();

app.MapDefaultEndpoints();
app.MapApiDocumentation();
app.MapTokensApi();
app.MapProjectsApi();
app.MapTasksApi();
app.MapCommentsApi();
app.MapEventsApi();

app.Run();

public partial class Program;
