"""The Hub's URLs under the prefix openmodelhub/urls.py mounts (``/hf/``). A revision is one path
segment, or ``refs/heads/<name>`` / ``refs/tags/<name>`` (the client quotes the slashes, the server
sees them decoded)."""

from django.urls import path, re_path

from hfhub import repos, views, write

app_name = "hfhub"

REPO = r"(?P<owner>[^/]+)/(?P<name>[^/]+)"
REVISION = r"(?P<revision>refs/(?:heads|tags)/[^/]+|[^/]+)"
KIND = r"(?P<kind>models|datasets)"
DATASETS = {"kind": "datasets"}
LFS_REPO = r"(?P<owner>[^/]+)/(?P<name>[^/]+?)\.git/info/lfs"

urlpatterns = [
    path("api/whoami-v2", views.whoami, name="whoami"),
    path("api/repos/create", repos.create_repo, name="repo-create"),
    path("api/repos/delete", repos.delete_repo, name="repo-delete"),
    re_path(rf"^api/{KIND}/{REPO}/settings$", repos.repo_settings, name="repo-settings"),
    re_path(rf"^api/{KIND}$", views.repo_list, name="list"),
    re_path(rf"^api/{KIND}/{REPO}$", views.repo_info, name="info"),
    re_path(rf"^api/{KIND}/{REPO}/revision/{REVISION}$", views.repo_info, name="info-revision"),
    re_path(rf"^api/{KIND}/{REPO}/tree/{REVISION}(?:/(?P<path>.+))?$", views.tree, name="tree"),
    re_path(rf"^api/{KIND}/{REPO}/paths-info/{REVISION}$", views.paths_info, name="paths-info"),
    re_path(rf"^api/{KIND}/{REPO}/refs$", views.refs, name="refs"),
    re_path(rf"^api/{KIND}/{REPO}/commits/{REVISION}$", views.commits, name="commits"),
    re_path(rf"^api/{KIND}/{REPO}/preupload/{REVISION}$", write.preupload, name="preupload"),
    re_path(rf"^api/{KIND}/{REPO}/commit/{REVISION}$", write.commit, name="commit"),
    re_path(rf"^api/{KIND}/{REPO}/tag/{REVISION}$", write.tag, name="tag"),
    re_path(rf"^api/{KIND}/{REPO}/branch/(?P<branch>.+)$", write.branch, name="branch"),
    re_path(rf"^datasets/{LFS_REPO}/objects/batch$", write.lfs_batch, DATASETS, name="dataset-lfs-batch"),
    re_path(rf"^datasets/{LFS_REPO}/objects/verify$", write.lfs_verify, DATASETS, name="dataset-lfs-verify"),
    re_path(rf"^{LFS_REPO}/objects/batch$", write.lfs_batch, name="model-lfs-batch"),
    re_path(rf"^{LFS_REPO}/objects/verify$", write.lfs_verify, name="model-lfs-verify"),
    path("lfs/uploads/<str:token>", write.lfs_upload, name="lfs-upload"),
    path("lfs/uploads/<str:token>/<int:number>", write.lfs_part, name="lfs-part"),
    re_path(rf"^(?P<kind>datasets)/{REPO}/resolve/{REVISION}/(?P<path>.+)$", views.resolve, name="dataset-resolve"),
    re_path(rf"^{REPO}/resolve/{REVISION}/(?P<path>.+)$", views.resolve, {"kind": "models"}, name="model-resolve"),
]
