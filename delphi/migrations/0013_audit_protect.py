"""Audit rows are no longer deleted with their study: AuditEvent.study becomes PROTECT. And
LinkFailure, the record behind the panelist-link throttle.

(Numbered 0012 and depending on 0010 as the brief asked; renumber at merge if another 0011
lands first.)
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delphi", "0012_study_stability_test"),
        ("panels", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="study",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="delphi.study",
            ),
        ),
        migrations.CreateModel(
            name="LinkFailure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("unknown", "Unknown link"),
                            ("revoked", "Revoked link"),
                            ("expired", "Expired link"),
                            ("client_limit", "Client throttled"),
                            ("link_limit", "Link throttled"),
                        ],
                        max_length=12,
                    ),
                ),
                ("client", models.CharField(blank=True, max_length=45)),
                ("token_prefix", models.CharField(blank=True, db_index=True, max_length=12)),
                ("user_agent", models.CharField(blank=True, max_length=200)),
                (
                    "panelist",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="panels.panelist",
                    ),
                ),
            ],
            options={"ordering": ["-at", "-id"]},
        ),
    ]
