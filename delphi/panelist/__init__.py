"""The panelist's side: session from a link, questionnaire pages, feedback between rounds."""
