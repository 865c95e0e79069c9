"""The newsroom's roles. The 编辑 (editor) group is brought up to date after every migrate."""

from django.contrib.auth.models import Group, Permission

EDITOR_GROUP_NAME = "编辑"

# Editors write and publish; they never manage users or groups, and withdraw rather than delete articles.
EDITOR_PERMISSIONS = {
    "article": ["add", "change", "view"],
    "category": ["add", "change", "view"],
    "tag": ["add", "change", "delete", "view"],
    "stockreference": ["add", "change", "view"],
    # What the import did, and the files it could not take: written by the import alone.
    "importrun": ["view"],
    "importproblem": ["view"],
}
EDITOR_EXTRA_PERMISSIONS = ["publish_article"]


def ensure_editor_group(**kwargs):
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP_NAME)
    codenames = [f"{action}_{model}" for model, actions in EDITOR_PERMISSIONS.items() for action in actions]
    codenames += EDITOR_EXTRA_PERMISSIONS
    permissions = Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
    group.permissions.set(permissions)
    return group
