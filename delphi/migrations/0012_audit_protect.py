"""Audit rows are no longer deleted with their study: AuditEvent.study becomes PROTECT.

(Numbered 0012 and depending on 0010 as the brief asked; renumber at merge if another 0011
lands first.)
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delphi", "0010_round_inputs_changed"),
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
    ]
